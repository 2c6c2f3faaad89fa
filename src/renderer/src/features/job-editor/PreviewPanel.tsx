import type { ApiError, InputPreview } from '../../../../shared/api'
import { ErrorNotice } from '../../components/ErrorNotice'
import { cellText, formatBytes } from '../../components/format'
import type { Encoding, InputFormat, JobDraft } from './job-draft'

const DELIMITERS: { value: string; label: string }[] = [
  { value: ',', label: 'Comma ,' },
  { value: ';', label: 'Semicolon ;' },
  { value: '\t', label: 'Tab' },
  { value: '|', label: 'Pipe |' },
  { value: ':', label: 'Colon :' }
]

const TYPE_LABELS: Record<string, string> = {
  integer: 'whole number',
  number: 'number',
  boolean: 'yes/no',
  date: 'date',
  string: 'text'
}

export type InputSettings = Pick<JobDraft, 'format' | 'delimiter' | 'header' | 'encoding' | 'include' | 'sheet'>

/** What was detected in the input folder, each setting overridable, and its first rows. */
export function PreviewPanel(props: {
  preview: InputPreview | null
  settings: InputSettings
  loading: boolean
  error: ApiError | null
  problems: { sub: string; message: string }[]
  onChange: (settings: Partial<InputSettings>) => void
}): React.JSX.Element {
  const { preview, settings, problems } = props
  const delimiterChoices = DELIMITERS.some((d) => d.value === settings.delimiter)
    ? DELIMITERS
    : [...DELIMITERS, { value: settings.delimiter, label: `“${settings.delimiter}”` }]
  const isCsv = settings.format === 'csv' || settings.format === 'tsv'
  // Formats whose first row may name the columns.
  const hasHeaderRow = isCsv || settings.format === 'xlsx'
  const totalBytes = preview?.files.reduce((n, f) => n + f.size, 0) ?? 0
  const sheets = settings.format === 'xlsx' ? (preview?.sheets ?? []) : []

  // Without a header the first row is data and the columns are numbered, as the engine reads it.
  const headerOff = hasHeaderRow && !settings.header && (preview?.header ?? false)
  const columns = preview
    ? headerOff
      ? preview.columns.map((c, i) => ({ ...c, name: `column${i + 1}` }))
      : preview.columns
    : []
  const rows = preview ? (headerOff ? [preview.columns.map((c) => c.name), ...preview.rows] : preview.rows) : []

  return (
    <div className="preview" aria-busy={props.loading}>
      <div className="settings-grid">
        <label className="field">
          <span>Format</span>
          <select value={settings.format} onChange={(e) => props.onChange({ format: e.target.value as InputFormat })} data-testid="input-format">
            <option value="csv">CSV (comma-separated)</option>
            <option value="tsv">TSV (tab-separated)</option>
            <option value="jsonl">JSON lines</option>
            <option value="json">JSON array</option>
            <option value="xlsx">Excel workbook (.xlsx)</option>
          </select>
        </label>
        {sheets.length > 0 && (
          <label className="field">
            <span>Sheet</span>
            <select value={settings.sheet || preview?.sheet || ''} onChange={(e) => props.onChange({ sheet: e.target.value })} data-testid="input-sheet">
              {sheets.map((name) => (
                <option key={name} value={name}>
                  {name}
                </option>
              ))}
            </select>
          </label>
        )}
        {isCsv && (
          <label className="field">
            <span>Delimiter</span>
            <select value={settings.delimiter} onChange={(e) => props.onChange({ delimiter: e.target.value })} data-testid="input-delimiter">
              {delimiterChoices.map((d) => (
                <option key={d.value} value={d.value}>
                  {d.label}
                </option>
              ))}
            </select>
          </label>
        )}
        {hasHeaderRow && (
          <label className="field field-check">
            <input type="checkbox" checked={settings.header} onChange={(e) => props.onChange({ header: e.target.checked })} data-testid="input-header" />
            <span>First row holds the column names</span>
          </label>
        )}
        {settings.format !== 'xlsx' && (
          <label className="field">
            <span>Encoding</span>
            <select value={settings.encoding} onChange={(e) => props.onChange({ encoding: e.target.value as Encoding })} data-testid="input-encoding">
              <option value="utf8">UTF-8</option>
              <option value="latin1">Latin-1 (ISO 8859-1)</option>
              <option value="windows-1252">Windows-1252</option>
              <option value="utf16le">UTF-16 LE (Excel "Unicode Text")</option>
              <option value="utf16be">UTF-16 BE</option>
            </select>
          </label>
        )}
        <label className="field">
          <span>Files to read</span>
          <input
            value={settings.include}
            onChange={(e) => props.onChange({ include: e.target.value })}
            placeholder="*.csv"
            spellCheck={false}
            data-testid="input-include"
            aria-describedby="include-help"
          />
          <small id="include-help" className="muted">
            Patterns, separated by commas. **/*.csv also reads subfolders.
          </small>
        </label>
      </div>
      <SectionProblems problems={problems} />
      <ErrorNotice error={props.error} />
      {preview && (
        <>
          <p className="muted small" data-testid="preview-files">
            {preview.files.length === 0
              ? 'No files in this folder match.'
              : `${preview.files.length} file${preview.files.length === 1 ? '' : 's'}, ${formatBytes(totalBytes)}: ${preview.files
                  .slice(0, 5)
                  .map((f) => f.relPath)
                  .join(', ')}${preview.files.length > 5 ? ', …' : ''}`}
            {preview.compression === 'gzip' && ' · gzip-compressed: read as it is, never unpacked to disk'}
            {preview.compression === 'zip' && ' · zip archive: its files of this format are read in name order, never unpacked to disk'}
          </p>
          {columns.length > 0 && (
            <div className="table-scroll preview-table" tabIndex={0} role="region" aria-label="First rows of the input">
              <table className="table data-table" data-testid="preview-table">
                <thead>
                  <tr>
                    {columns.map((c, i) => (
                      <th key={i} scope="col">
                        <span className="col-name">{c.name}</span>
                        <span className={`col-type type-${c.type}`}>{TYPE_LABELS[c.type] ?? c.type}</span>
                      </th>
                    ))}
                  </tr>
                </thead>
                <tbody>
                  {rows.map((row, r) => (
                    <tr key={r}>
                      {columns.map((_, i) => (
                        <td key={i}>{cellText(row[i])}</td>
                      ))}
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </>
      )}
    </div>
  )
}

export function SectionProblems(props: { problems: { sub: string; message: string }[] }): React.JSX.Element | null {
  if (props.problems.length === 0) return null
  return (
    <ul className="field-problems" data-testid="section-problem">
      {props.problems.map((p, i) => (
        <li key={i} className="field-problem">
          {p.sub && <code>{p.sub}</code>} {p.message}
        </li>
      ))}
    </ul>
  )
}
