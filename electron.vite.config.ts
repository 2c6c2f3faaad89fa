import { resolve } from 'node:path'
import { defineConfig } from 'electron-vite'

// One build for every bundle. The main-process build has several entries: the Electron shell,
// the headless CLI and the Piscina worker. The worker is its own entry with a stable output name
// (out/main/partition-worker.js) because the engine hands that path to Piscina at run time.
export default defineConfig({
  main: {
    build: {
      // zod is bundled: loaded from node_modules it is ~100 ES module files, which cost every CLI
      // command and the app's engine ~0.2 s to load; bundled, one chunk holding what is used.
      externalizeDeps: { exclude: ['zod'] },
      sourcemap: true,
      rollupOptions: {
        input: {
          index: resolve('src/main/electron/index.ts'),
          cli: resolve('src/main/cli/index.ts'),
          'engine-host': resolve('src/main/engine-host.ts'),
          'partition-worker': resolve('src/workers/partition-worker.ts'),
          // files jobs with a module processor (out/main/file-task-worker.js)
          'file-task-worker': resolve('src/workers/file-task-worker.ts'),
          // the small process that starts a files job's commands (out/main/spawn-helper.js)
          'spawn-helper': resolve('src/main/spawn-helper.ts')
        },
        output: { entryFileNames: '[name].js' }
      }
    }
  },
  preload: {
    build: {
      externalizeDeps: true,
      rollupOptions: {
        input: { index: resolve('src/preload/index.ts') },
        // A sandboxed preload cannot be an ES module.
        output: { format: 'cjs', entryFileNames: '[name].cjs' }
      }
    }
  },
  renderer: {
    root: resolve('src/renderer'),
    build: {
      minify: true,
      rollupOptions: { input: { index: resolve('src/renderer/index.html') } }
    }
  }
})
