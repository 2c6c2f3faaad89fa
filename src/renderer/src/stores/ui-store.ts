// Small bits of UI state shared between screens.
import { create } from 'zustand'
import type { DroppedInput } from '../features/job-editor/dropped-input'

interface UiState {
  /** Files or a folder dropped on the window, waiting for the New job screen to take them. */
  droppedInput: Extract<DroppedInput, { ok: true }> | null
  setDroppedInput: (d: Extract<DroppedInput, { ok: true }> | null) => void
  /** A job whose page should open "Run on files…" when it shows (files were dropped on it in a browser). */
  runOnFilesFor: string | null
  setRunOnFilesFor: (name: string | null) => void
}

export const useUiStore = create<UiState>()((set) => ({
  droppedInput: null,
  setDroppedInput: (droppedInput) => set({ droppedInput }),
  runOnFilesFor: null,
  setRunOnFilesFor: (runOnFilesFor) => set({ runOnFilesFor })
}))
