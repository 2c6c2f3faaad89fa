/** Save text as a file through the browser's download (a Blob link; nothing leaves the machine). */
export function downloadText(fileName: string, text: string, type: string): void {
  const url = URL.createObjectURL(new Blob([text], { type }))
  const a = document.createElement('a')
  a.href = url
  a.download = fileName
  a.style.display = 'none'
  document.body.append(a)
  a.click()
  a.remove()
  // Give the download a moment to start before the URL goes away.
  setTimeout(() => URL.revokeObjectURL(url), 10_000)
}

/** A file name from a job or run name: characters no file system accepts become "-". */
export function safeFileName(name: string): string {
  const cleaned = name.replace(/[/\\:*?"<>|\u0000-\u001f]+/g, '-').trim()
  return cleaned || 'batchery'
}
