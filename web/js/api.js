// REST calls to /api/v1 with the session cookie and the CSRF token; errors
// come back as thrown {status, code, message}.

let csrf = sessionStorage.getItem('plateau.csrf') || '';

export function setCsrf(token) {
  csrf = token || '';
  if (csrf) sessionStorage.setItem('plateau.csrf', csrf);
  else sessionStorage.removeItem('plateau.csrf');
}

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message || code);
    this.status = status;
    this.code = code;
  }
}

export async function api(method, path, body, opts = {}) {
  const headers = { Accept: 'application/json' };
  let payload;
  if (body instanceof Blob || body instanceof FormData) {
    payload = body;
    if (body instanceof File) headers['X-File-Name'] = encodeURIComponent(body.name);
  } else if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    payload = JSON.stringify(body);
  }
  if (method !== 'GET' && csrf) headers['X-CSRF-Token'] = csrf;
  let res;
  try {
    res = await fetch('/api/v1' + path, { method, headers, body: payload, credentials: 'same-origin', ...opts });
  } catch (e) {
    throw new ApiError(0, 'network', String(e));
  }
  const text = await res.text();
  let data = null;
  if (text) {
    try { data = JSON.parse(text); } catch { data = text; }
  }
  if (!res.ok) {
    const e = data && data.error ? data.error : { code: 'internal', message: res.statusText };
    const err = new ApiError(res.status, e.code, e.message);
    if (res.status === 401 && !opts.quiet) window.dispatchEvent(new CustomEvent('plateau:unauthenticated'));
    throw err;
  }
  return data;
}

export const get = (p, o) => api('GET', p, undefined, o);
export const post = (p, b, o) => api('POST', p, b ?? {}, o);
export const put = (p, b) => api('PUT', p, b ?? {});
export const patch = (p, b) => api('PATCH', p, b ?? {});
export const del = (p) => api('DELETE', p);
