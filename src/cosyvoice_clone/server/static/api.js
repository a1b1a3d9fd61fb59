// The studio's JSON API: one fetch wrapper whose failures carry the server's error body
// ({message, param, code}), so the page can show each error next to the control named by param.

const KEY = "cosyvoice-studio-key";

export class ApiError extends Error {
  constructor(status, error) {
    super(error?.message || `the server answered ${status}`);
    this.status = status;
    this.param = error?.param || null;
    this.code = error?.code || null;
  }
}

export function setKey(key) {
  if (key) sessionStorage.setItem(KEY, key);
  else sessionStorage.removeItem(KEY);
}

export async function api(path, { method = "GET", json, body, headers = {} } = {}) {
  const key = sessionStorage.getItem(KEY);
  const all = { ...headers };
  if (key) all.Authorization = `Bearer ${key}`;
  // security hook (issue 22): the per-launch token the server put in the page
  const token = document.querySelector('meta[name="cosyvoice-studio-token"]')?.content;
  if (token) all["X-Studio-Token"] = token;
  if (json !== undefined) {
    all["Content-Type"] = "application/json";
    body = JSON.stringify(json);
  }
  let response;
  try {
    response = await fetch(path, { method, headers: all, body });
  } catch (err) {
    throw new ApiError(0, { message: `the studio server cannot be reached (${err.message})` });
  }
  const data = await response.json().catch(() => null);
  if (!response.ok) throw new ApiError(response.status, data?.error);
  return data;
}

// Follow a job's server-sent events until "done" or "error"; onEvent sees each event once.
export function follow(url, onEvent) {
  return new Promise((resolve, reject) => {
    const source = new EventSource(url);
    let seen = 0;
    let index = 0;
    source.onopen = () => { index = 0; };  // a reconnect replays the job from its start
    source.onmessage = (message) => {
      index += 1;
      if (index <= seen) return;
      seen = index;
      const event = JSON.parse(message.data);
      if (event.type === "done") { source.close(); resolve(event); return; }
      if (event.type === "error") {
        source.close();
        reject(new ApiError(event.error?.status || 500, event.error));
        return;
      }
      onEvent(event);
    };
    source.onerror = () => {
      if (source.readyState === EventSource.CLOSED) {
        reject(new ApiError(0, { message: "lost the connection to the studio server" }));
      }
    };
  });
}
