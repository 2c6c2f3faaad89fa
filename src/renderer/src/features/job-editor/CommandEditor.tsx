import { flushSync } from 'react-dom'
import { useRef } from 'react'
import { joinCommandLine, splitCommandLine, unclosedQuote } from './command-line'
import { newId, type FilesDraft } from './job-draft'

type Problem = { sub: string; message: string }

/** The placeholders a command may hold, as the engine knows them: GNU parallel's short forms and their names. */
export const PLACEHOLDERS: { short: string | null; name: string; meaning: string }[] = [
  { short: '{}', name: '{path}', meaning: 'the file’s path, like in/report.txt' },
  { short: '{/}', name: '{name}', meaning: 'its name: report.txt' },
  { short: '{/.}', name: '{stem}', meaning: 'its name without the extension: report' },
  { short: '{.}', name: '{noext}', meaning: 'its path without the extension: in/report' },
  { short: null, name: '{ext}', meaning: 'its extension, without the dot: txt' },
  { short: '{//}', name: '{dir}', meaning: 'the folder it is in: in' },
  { short: '{#}', name: '{seq}', meaning: 'its number: 1 for the first file, 2 for the next…' },
  { short: null, name: '{rel}', meaning: 'its path inside the input folder: sub/report.txt' },
  { short: null, name: '{out}', meaning: 'a folder for its results: what the command writes there goes to the output folder when it succeeds' }
]

/** The field the cursor was last in, so a clicked placeholder goes where the analyst was typing. */
type Focus = { field: string; start: number; end: number }

/**
 * The command run for each file: a program and its arguments (one box each), or one command line
 * (split into arguments as a shell would, unless the shell runs it). Placeholders are listed with
 * what each means, and a click inserts one at the cursor.
 */
export function CommandEditor(props: { files: FilesDraft; problems: Problem[]; onChange: (patch: Partial<FilesDraft>) => void }): React.JSX.Element {
  const { files: f, problems, onChange } = props
  const inputs = useRef(new Map<string, HTMLInputElement>())
  const lastFocus = useRef<Focus | null>(null)
  const listMode = f.commandMode === 'list'

  const remember = (field: string) => (e: React.FocusEvent<HTMLInputElement>) => {
    lastFocus.current = { field, start: e.target.selectionStart ?? e.target.value.length, end: e.target.selectionEnd ?? e.target.value.length }
  }
  const bind = (field: string) => ({
    ref: (el: HTMLInputElement | null) => {
      if (el) inputs.current.set(field, el)
      else inputs.current.delete(field)
    },
    onBlur: remember(field)
  })
  const valueOf = (field: string): string => (field === 'program' ? f.program : field === 'line' ? f.line : (f.args.find((a) => a.id === field)?.value ?? ''))
  const setField = (field: string, value: string): void => {
    if (field === 'program') onChange({ program: value })
    else if (field === 'line') onChange({ line: value })
    else onChange({ args: f.args.map((a) => (a.id === field ? { ...a, value } : a)) })
  }

  const insert = (token: string): void => {
    const at = lastFocus.current
    const stillThere = at && (at.field === 'line' ? !listMode : listMode && (at.field === 'program' || f.args.some((a) => a.id === at.field)))
    if (at && stillThere) {
      const value = valueOf(at.field)
      const start = Math.min(at.start, value.length)
      const end = Math.min(Math.max(at.end, start), value.length)
      // Rendered at once, so the field has its new text and the cursor is back in it, after the
      // placeholder, before the next key press arrives (typed right after the click, it would
      // otherwise go to the button).
      flushSync(() => setField(at.field, value.slice(0, start) + token + value.slice(end)))
      const caret = start + token.length
      lastFocus.current = { field: at.field, start: caret, end: caret }
      const el = inputs.current.get(at.field)
      el?.focus()
      el?.setSelectionRange(caret, caret)
      return
    }
    // Nowhere to insert: a new argument, or the end of the line.
    if (listMode) {
      const id = newId()
      onChange({ args: [...f.args, { id, value: token }] })
      lastFocus.current = { field: id, start: token.length, end: token.length }
    } else {
      const line = f.line.trim() ? `${f.line.replace(/\s+$/, '')} ${token}` : token
      onChange({ line })
      lastFocus.current = { field: 'line', start: line.length, end: line.length }
    }
  }

  const setMode = (mode: FilesDraft['commandMode']): void => {
    if (mode === f.commandMode) return
    if (mode === 'line') onChange({ commandMode: 'line', line: joinCommandLine([f.program, ...f.args.map((a) => a.value)].filter((a, i) => i > 0 || a !== '')) })
    else {
      const [program = '', ...args] = splitCommandLine(f.line)
      onChange({ commandMode: 'list', program, args: args.map((value) => ({ id: newId(), value })) })
    }
    lastFocus.current = null
  }

  const setShell = (shell: boolean): void => {
    // With the shell the command is one line of shell code.
    if (shell && listMode) {
      onChange({ shell, commandMode: 'line', line: joinCommandLine([f.program, ...f.args.map((a) => a.value)].filter((a, i) => i > 0 || a !== '')) })
      lastFocus.current = null
    } else onChange({ shell })
  }

  const on = (path: string): Problem[] => problems.filter((p) => p.sub === path)
  const argProblems = (i: number): Problem[] => on(`command[${i + 1}]`)
  // Problems not shown at an argument: the whole command, or an argument of a line.
  const commandProblems = problems.filter((p) => p.sub === 'command' || (p.sub.startsWith('command[') && (!listMode || !/^command\[\d+\]$/.test(p.sub))))
  const split = !listMode && !f.shell ? splitCommandLine(f.line) : null

  return (
    <div className="command-editor" data-testid="command-editor">
      <div className="choice-row" role="radiogroup" aria-label="How the command is written">
        <label className="field field-check-line">
          <input type="radio" name="command-mode" checked={listMode} onChange={() => setMode('list')} disabled={f.shell && !listMode} data-testid="command-mode-list" />
          <span>Program and arguments, one box each</span>
        </label>
        <label className="field field-check-line">
          <input type="radio" name="command-mode" checked={!listMode} onChange={() => setMode('line')} data-testid="command-mode-line" />
          <span>One command line</span>
        </label>
      </div>

      {listMode ? (
        <div className="rows">
          <div className="row-block">
            <label className="field">
              <span>Program</span>
              <input
                className="mono"
                value={f.program}
                onChange={(e) => onChange({ program: e.target.value })}
                placeholder="gzip, or the full path of a program"
                spellCheck={false}
                aria-invalid={on('command[0]').length > 0}
                data-testid="command-program"
                {...bind('program')}
              />
            </label>
            <FieldProblems problems={on('command[0]')} />
          </div>
          <span className="field-label">Arguments</span>
          {f.args.length === 0 && <p className="muted small">No arguments: the file’s path is added as the last one.</p>}
          {f.args.map((a, i) => (
            <div key={a.id} className="row-block" data-testid="command-arg-row">
              <div className="row-grid arg-grid">
                <span className="muted small arg-number">{i + 1}</span>
                <input
                  className="mono"
                  value={a.value}
                  onChange={(e) => setField(a.id, e.target.value)}
                  aria-label={`Argument ${i + 1}`}
                  aria-invalid={argProblems(i).length > 0}
                  spellCheck={false}
                  data-testid="command-arg"
                  {...bind(a.id)}
                />
                <button
                  type="button"
                  className="btn btn-small btn-quiet"
                  onClick={() => onChange({ args: f.args.filter((x) => x.id !== a.id) })}
                  aria-label={`Remove argument ${i + 1}`}
                  data-testid="remove-command-arg"
                >
                  ✕
                </button>
              </div>
              <FieldProblems problems={argProblems(i)} />
            </div>
          ))}
          <button type="button" className="btn btn-small" onClick={() => onChange({ args: [...f.args, { id: newId(), value: '' }] })} data-testid="add-command-arg">
            Add an argument
          </button>
        </div>
      ) : (
        <div className="row-block">
          <label className="field">
            <span>{f.shell ? 'Shell command line' : 'Command line'}</span>
            <input
              className="mono"
              value={f.line}
              onChange={(e) => onChange({ line: e.target.value })}
              placeholder="gzip -k {}"
              spellCheck={false}
              aria-invalid={commandProblems.length > 0}
              data-testid="command-line"
              {...bind('line')}
            />
          </label>
          {split && f.line.trim() !== '' && (
            <p className="muted small command-split" data-testid="command-split">
              Runs <code>{split[0]}</code>
              {split.length > 1 ? ' with ' : ' with no arguments'}
              {split.slice(1).map((a, i) => (
                <code key={i} className="arg-chip">
                  {a === '' ? '(empty)' : a}
                </code>
              ))}
              {unclosedQuote(f.line) && <strong className="field-problem"> A quote is not closed.</strong>}
            </p>
          )}
        </div>
      )}
      <FieldProblems problems={commandProblems} />

      <PlaceholderList onInsert={insert} />

      <label className="field field-check-line shell-switch">
        <input type="checkbox" checked={f.shell} onChange={(e) => setShell(e.target.checked)} data-testid="command-shell" />
        <span>Run through the shell</span>
      </label>
      {f.shell ? (
        <p className="notice notice-warn small" role="note" data-testid="shell-warning">
          The line is run by this computer’s shell, so pipes (|), redirects (&gt;) and wildcards work, and so do mistakes in it: check the dry run. Each
          placeholder’s value is still inserted quoted.
        </p>
      ) : (
        <p className="muted small">Without the shell each argument reaches the program as it is: a file named “$(rm -rf ~).txt” is only a name.</p>
      )}
      <FieldProblems problems={on('shell')} />
    </div>
  )
}

function PlaceholderList(props: { onInsert: (token: string) => void }): React.JSX.Element {
  return (
    <div className="placeholders" role="group" aria-label="Placeholders">
      <p className="muted small">Placeholders stand for each file in turn. Click one to insert it where the cursor is:</p>
      <ul className="placeholder-list">
        {PLACEHOLDERS.map((p) => (
          <li key={p.name}>
            <span className="placeholder-tokens">
              {p.short && (
                <button type="button" className="chip chip-button mono" onClick={() => props.onInsert(p.short as string)} aria-label={`Insert ${p.short}`} data-testid={`placeholder-${p.short}`}>
                  {p.short}
                </button>
              )}
              <button type="button" className="chip chip-button mono" onClick={() => props.onInsert(p.name)} aria-label={`Insert ${p.name}`} data-testid={`placeholder-${p.name}`}>
                {p.name}
              </button>
            </span>
            <span className="small">{p.meaning}</span>
          </li>
        ))}
      </ul>
    </div>
  )
}

export function FieldProblems(props: { problems: Problem[] }): React.JSX.Element | null {
  if (props.problems.length === 0) return null
  return (
    <ul className="field-problems" role="alert">
      {props.problems.map((p, i) => (
        <li key={i} className="field-problem" data-testid="field-problem">
          {p.message}
        </li>
      ))}
    </ul>
  )
}
