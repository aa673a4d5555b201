// The v1 API as the page uses it: fetch() with the bearer token, the login session
// in sessionStorage, and token refresh.
//
// Tokens: the access and refresh tokens are kept in sessionStorage (this tab only,
// gone when it closes), never in a cookie; requests never send cookies
// (credentials: "omit"). On a 401 the refresh token is traded for new tokens once,
// and the request retried; when that fails the session ends.

const ROOT = document.documentElement.dataset.root || "";
const SESSION_KEY = "fmr.session";

let sessionEnded = () => {};
let refreshing = null;

/** Call ``callback`` when the API refuses the session and it cannot be refreshed. */
export function whenSessionEnds(callback) {
  sessionEnded = callback;
}

/** ``{username, access_token, refresh_token}`` of the logged-in user, or null. */
export function session() {
  try {
    return JSON.parse(sessionStorage.getItem(SESSION_KEY)) || null;
  } catch {
    return null;
  }
}

export function saveSession(username, tokens) {
  sessionStorage.setItem(SESSION_KEY, JSON.stringify({
    username,
    access_token: tokens.access_token,
    refresh_token: tokens.refresh_token || null,
  }));
}

export function clearSession() {
  sessionStorage.removeItem(SESSION_KEY);
}

/** The API's ``detail`` as one readable sentence, in an Error. */
export async function problem(response) {
  let detail = `${response.status} ${response.statusText}`;
  try {
    const body = await response.json();
    if (typeof body.detail === "string") detail = body.detail;
    else if (Array.isArray(body.detail)) {
      detail = body.detail.map((d) => `${(d.loc || []).slice(1).join(".")}: ${d.msg}`).join("; ");
    }
  } catch {
    // Not JSON: keep the status line.
  }
  return new Error(detail);
}

/** Send an urlencoded form (the OAuth2 endpoints and register take form bodies, so
 * the password is never in a URL). */
export function postForm(path, fields, method = "POST") {
  return fetch(`${ROOT}${path}`, {
    method,
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams(fields),
    credentials: "omit",
  });
}

/** Trade the refresh token for new tokens, one trade at a time: refresh tokens are
 * single use, and using one twice would end the whole login session. */
function refreshTokens() {
  if (!refreshing) {
    refreshing = (async () => {
      const current = session();
      if (!current || !current.refresh_token) return false;
      const response = await postForm("/v1/auth/refresh", {
        grant_type: "refresh_token", refresh_token: current.refresh_token,
      });
      if (!response.ok) return false;
      saveSession(current.username, await response.json());
      return true;
    })().finally(() => { refreshing = null; });
  }
  return refreshing;
}

/** Call the API with the bearer token. On a 401: retry with a token another request
 * renewed meanwhile, else refresh once and retry, else end the session. */
export async function api(path, options = {}, retried = false) {
  const used = session()?.access_token;
  const headers = new Headers(options.headers || {});
  if (used) headers.set("Authorization", `Bearer ${used}`);
  const response = await fetch(`${ROOT}${path}`, { ...options, headers, credentials: "omit" });
  if (response.status !== 401 || retried) return response;
  const now = session()?.access_token;
  if ((now && now !== used) || await refreshTokens()) return api(path, options, true);
  sessionEnded();
  throw new Error("Not logged in");
}

/** The JSON answer of a call, or an Error with the API's ``detail``. */
export async function apiJson(path, options = {}) {
  const response = await api(path, options);
  if (!response.ok) throw await problem(response);
  return response.json();
}

/** A file (GET with the token) as a Blob. */
export async function fetchBlob(path) {
  const response = await api(path);
  if (!response.ok) throw await problem(response);
  return response.blob();
}
