// The key `batchery serve` prints in the URL it asks the user to open. It is kept in
// sessionStorage so that a reload (after the address bar loses it) still works, and taken out of
// the address bar so that it does not end up in screenshots or browser history.
const STORAGE_KEY = 'batchery.token'

let cached: string | null | undefined

export function serverToken(): string | null {
  if (cached !== undefined) return cached
  let token: string | null = null
  try {
    const url = new URL(window.location.href)
    const fromUrl = url.searchParams.get('token')
    if (fromUrl) {
      token = fromUrl
      sessionStorage.setItem(STORAGE_KEY, fromUrl)
      url.searchParams.delete('token')
      window.history.replaceState(window.history.state, '', url.pathname + url.search + url.hash)
    } else {
      token = sessionStorage.getItem(STORAGE_KEY)
    }
  } catch {
    // sessionStorage can be unavailable (privacy modes); the token from the URL still works once.
  }
  cached = token
  return token
}
