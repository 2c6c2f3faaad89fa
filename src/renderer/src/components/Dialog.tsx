import { useEffect, useRef, type ReactNode } from 'react'

/**
 * A modal dialog on the native <dialog> element: it traps focus, closes with Escape and returns
 * focus to where it was, without any library.
 */
export function Dialog(props: {
  open: boolean
  title: string
  onClose: () => void
  children: ReactNode
  footer?: ReactNode
  wide?: boolean
  testId?: string
}): React.JSX.Element {
  const ref = useRef<HTMLDialogElement>(null)
  const { open, onClose } = props

  useEffect(() => {
    const d = ref.current
    if (!d) return
    if (open && !d.open) d.showModal()
    if (!open && d.open) d.close()
  }, [open])

  useEffect(() => {
    const d = ref.current
    if (!d) return
    const cancel = (e: Event): void => {
      e.preventDefault()
      onClose()
    }
    d.addEventListener('cancel', cancel)
    return () => d.removeEventListener('cancel', cancel)
  }, [onClose])

  return (
    <dialog ref={ref} className={`dialog${props.wide ? ' dialog-wide' : ''}`} aria-label={props.title} data-testid={props.testId}>
      {open && (
        <>
          <header className="dialog-header">
            <h2>{props.title}</h2>
          </header>
          <div className="dialog-body">{props.children}</div>
          {props.footer && <footer className="dialog-footer">{props.footer}</footer>}
        </>
      )}
    </dialog>
  )
}

/** "Are you sure?" with the action named on its button. */
export function ConfirmDialog(props: {
  open: boolean
  title: string
  message: ReactNode
  confirmLabel: string
  danger?: boolean
  busy?: boolean
  onConfirm: () => void
  onCancel: () => void
}): React.JSX.Element {
  return (
    <Dialog
      open={props.open}
      title={props.title}
      onClose={props.onCancel}
      testId="confirm-dialog"
      footer={
        <>
          <button type="button" className="btn" onClick={props.onCancel} autoFocus>
            Keep it
          </button>
          <button
            type="button"
            className={`btn ${props.danger ? 'btn-danger' : 'btn-primary'}`}
            onClick={props.onConfirm}
            disabled={props.busy}
            data-testid="confirm"
          >
            {props.confirmLabel}
          </button>
        </>
      }
    >
      {props.message}
    </Dialog>
  )
}
