// The one client of the /v1 API the console uses.
//
// Tokens as the API intends: the access token lives only in memory; the refresh token
// is kept in sessionStorage (this tab only, gone when it closes) so a reload does not log
// out, and is rotated on every refresh. A 401 refreshes once and repeats the request;
// if that fails the session is over and `onSessionEnded` returns to the login page.
// Errors are thrown as ApiError with the problem's Chinese `detail` (Accept-Language: zh-CN).

const REFRESH_KEY = 'dangke.console.refresh';

export class ApiError extends Error {
  constructor(status, problem) {
    super((problem && problem.detail) || `请求失败（${status}）`);
    this.status = status;
    this.code = (problem && problem.code) || 'network';
    this.errors = (problem && problem.errors) || [];
    this.problem = problem;
  }
  // The message to show a person: the detail, then each field's reason.
  get text() {
    const fields = this.errors.map((e) => `${e.field ? e.field + '：' : ''}${e.message || e.code}`);
    return [this.message, ...fields].join('；');
  }
}

let access = null;
let refreshing = null;
let onSessionEnded = () => {};

export function setSessionEndedHandler(fn) { onSessionEnded = fn; }
export function hasSession() { return !!(access || sessionStorage.getItem(REFRESH_KEY)); }

function keep(pair) {
  access = pair.access_token;
  sessionStorage.setItem(REFRESH_KEY, pair.refresh_token);
  return pair;
}

function forget() {
  access = null;
  sessionStorage.removeItem(REFRESH_KEY);
}

export async function login(phone, password) {
  const r = await fetch('/v1/auth/login', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'Accept-Language': 'zh-CN' },
    body: JSON.stringify({ phone, password }),
  });
  if (!r.ok) throw new ApiError(r.status, await problemOf(r));
  return keep(await r.json());
}

// Rotates the refresh token; one refresh at a time however many requests got a 401.
export function refresh() {
  if (!refreshing) {
    refreshing = (async () => {
      const token = sessionStorage.getItem(REFRESH_KEY);
      if (!token) return false;
      const r = await fetch('/v1/auth/refresh', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'Accept-Language': 'zh-CN' },
        body: JSON.stringify({ refresh_token: token }),
      });
      if (!r.ok) { forget(); return false; }
      keep(await r.json());
      return true;
    })().finally(() => { refreshing = null; });
  }
  return refreshing;
}

export async function logout() {
  try {
    if (access) await send('POST', '/v1/auth/logout', { retry: false });
  } catch (_) { /* logged out locally either way */ }
  forget();
}

async function problemOf(r) {
  try { return await r.json(); } catch (_) { return null; }
}

function url(path, query) {
  if (!query) return path;
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) {
    if (v !== undefined && v !== null && v !== '') q.set(k, v);
  }
  const s = q.toString();
  return s ? `${path}?${s}` : path;
}

// One request with the access token; on 401 refresh once and try again.
async function send(method, path, opts = {}) {
  const headers = { 'Accept-Language': 'zh-CN', ...(opts.headers || {}) };
  let body;
  if (opts.json !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(opts.json);
  } else if (opts.body !== undefined) {
    body = opts.body;
  }
  const go = () => fetch(url(path, opts.query), {
    method,
    headers: access ? { ...headers, Authorization: `Bearer ${access}` } : headers,
    body,
    signal: opts.signal,
  });
  let r;
  try {
    if (!access && opts.retry !== false) await refresh();
    r = await go();
    if (r.status === 401 && opts.retry !== false) {
      if (await refresh()) r = await go();
    }
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    throw new ApiError(0, { detail: '网络不可用，请检查网络后重试', code: 'network' });
  }
  if (r.status === 401 && opts.retry !== false) {
    forget();
    onSessionEnded();
  }
  if (!r.ok) throw new ApiError(r.status, await problemOf(r));
  return r;
}

async function json(r) {
  if (r.status === 204) return null;
  const text = await r.text();
  return text ? JSON.parse(text) : null;
}

export const api = {
  get: async (path, query, opts = {}) => json(await send('GET', path, { ...opts, query })),
  post: async (path, body, opts = {}) => json(await send('POST', path, { ...opts, json: body })),
  put: async (path, body, opts = {}) => json(await send('PUT', path, { ...opts, json: body })),
  patch: async (path, body, opts = {}) => json(await send('PATCH', path, { ...opts, json: body })),
  del: async (path, opts = {}) => json(await send('DELETE', path, opts)),
  // The raw response (for CSV bodies, images, headers).
  raw: (method, path, opts = {}) => send(method, path, opts),

  // Fetches `path` with the token and saves it as `filename` (or the server's name).
  async download(path, query, filename) {
    const r = await send('GET', path, { query });
    const blob = await r.blob();
    const cd = r.headers.get('Content-Disposition') || '';
    const m = /filename\*=UTF-8''([^;]+)/i.exec(cd) || /filename="?([^";]+)"?/i.exec(cd);
    const name = filename || (m ? decodeURIComponent(m[1]) : 'download');
    const a = document.createElement('a');
    a.href = URL.createObjectURL(blob);
    a.download = name;
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(a.href), 60_000);
    return name;
  },

  // An object URL for an authorized image or media file (revoke it when done).
  async objectUrl(path, query) {
    const r = await send('GET', path, { query });
    return URL.createObjectURL(await r.blob());
  },

  // Uploads a body with progress (fetch cannot report upload progress; XHR can).
  // `onProgress(fraction)`; resolves to the parsed JSON answer.
  upload(method, path, body, { headers = {}, onProgress, query } = {}) {
    const attempt = () => new Promise((resolve, reject) => {
      const x = new XMLHttpRequest();
      x.open(method, url(path, query));
      x.setRequestHeader('Accept-Language', 'zh-CN');
      if (access) x.setRequestHeader('Authorization', `Bearer ${access}`);
      for (const [k, v] of Object.entries(headers)) x.setRequestHeader(k, v);
      x.upload.onprogress = (e) => { if (e.lengthComputable && onProgress) onProgress(e.loaded / e.total); };
      x.onload = () => {
        let parsed = null;
        try { parsed = x.responseText ? JSON.parse(x.responseText) : null; } catch (_) { parsed = null; }
        resolve({ status: x.status, body: parsed });
      };
      x.onerror = () => reject(new ApiError(0, { detail: '网络不可用，上传失败，请重试', code: 'network' }));
      x.send(body);
    });
    return (async () => {
      if (!access) await refresh();
      let r = await attempt();
      if (r.status === 401 && await refresh()) r = await attempt();
      if (r.status === 401) { forget(); onSessionEnded(); }
      if (r.status < 200 || r.status >= 300) throw new ApiError(r.status, r.body);
      if (onProgress) onProgress(1);
      return r.body;
    })();
  },

  // Reads a Server-Sent Events stream with the token (EventSource cannot send one).
  // Calls onEvent({event, data, id}) per event until `signal` aborts; reconnects with
  // Last-Event-ID after a drop. Resolves when aborted.
  async stream(path, onEvent, signal) {
    let last = null;
    while (!signal.aborted) {
      try {
        const headers = { Accept: 'text/event-stream' };
        if (last) headers['Last-Event-ID'] = last;
        const r = await send('GET', path, { headers, signal });
        const reader = r.body.pipeThrough(new TextDecoderStream()).getReader();
        let buf = '';
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buf += value;
          let at;
          while ((at = buf.indexOf('\n\n')) >= 0) {
            const block = buf.slice(0, at);
            buf = buf.slice(at + 2);
            const ev = { event: 'message', data: '', id: null };
            for (const line of block.split('\n')) {
              if (line.startsWith(':')) continue;
              const i = line.indexOf(':');
              const k = i < 0 ? line : line.slice(0, i);
              const v = i < 0 ? '' : line.slice(i + 1).replace(/^ /, '');
              if (k === 'event') ev.event = v;
              else if (k === 'data') ev.data += (ev.data ? '\n' : '') + v;
              else if (k === 'id') ev.id = v;
            }
            if (ev.id) last = ev.id;
            if (ev.data) onEvent(ev);
          }
        }
      } catch (e) {
        if (signal.aborted) return;
        if (e instanceof ApiError && e.status >= 400 && e.status < 500) throw e;
      }
      await new Promise((res) => setTimeout(res, 3000));
    }
  },
};
