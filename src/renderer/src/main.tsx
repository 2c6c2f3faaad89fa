import { StrictMode } from 'react'
import { createRoot } from 'react-dom/client'

function App(): React.JSX.Element {
  return (
    <main style={{ fontFamily: 'system-ui, sans-serif', padding: 32, maxWidth: 720 }}>
      <h1>Batchery</h1>
      <p>
        The desktop screens are on their way. Today, run a job from a terminal:
        <code style={{ display: 'block', margin: '12px 0' }}>npx batchery run resources/examples/orders-clean/job.json</code>
        and see its failed records with <code>npx batchery report &lt;runId&gt;</code>.
      </p>
    </main>
  )
}

const root = document.getElementById('root')
if (root) createRoot(root).render(<StrictMode><App /></StrictMode>)
