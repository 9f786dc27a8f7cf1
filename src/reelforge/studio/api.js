// The native API as the studio uses it: every call sends the signed-in key as a Bearer token, and a
// refusal becomes an ApiError carrying the server's own message and the field it names.

export class ApiError extends Error {
  constructor(status, message, param) {
    super(message);
    this.status = status;
    this.param = param || null;
  }
}

export class Api {
  constructor(key) {
    this.key = key;
    this.pollAfterMs = 1000;
  }

  async request(path, init = {}) {
    const headers = { ...(init.headers || {}), Authorization: `Bearer ${this.key}` };
    let response;
    try {
      response = await fetch(path, { ...init, headers });
    } catch (error) {
      if (error.name === "AbortError") throw error;
      throw new ApiError(0, "The server cannot be reached.");
    }
    const poll = Number(response.headers.get("openai-poll-after-ms"));
    if (poll > 0) this.pollAfterMs = poll;
    if (!response.ok) throw await refusal(response);
    return response;
  }

  async json(path, init) {
    return (await this.request(path, init)).json();
  }

  account() {
    return this.json("/v1/account");
  }

  models() {
    return this.json("/v1/models");
  }

  videos(after, limit = 12) {
    const query = new URLSearchParams({ limit: String(limit), order: "desc" });
    if (after) query.set("after", after);
    return this.json(`/v1/videos?${query}`);
  }

  video(id) {
    return this.json(`/v1/videos/${encodeURIComponent(id)}`);
  }

  create(form) {
    return this.json("/v1/videos", { method: "POST", body: form });
  }

  cancel(id) {
    return this.json(`/v1/videos/${encodeURIComponent(id)}/cancel`, { method: "POST" });
  }

  remove(id) {
    return this.json(`/v1/videos/${encodeURIComponent(id)}`, { method: "DELETE" });
  }

  async content(id, variant) {
    const query = new URLSearchParams({ variant });
    return (await this.request(`/v1/videos/${encodeURIComponent(id)}/content?${query}`)).blob();
  }

  // The video's server-sent events, read with fetch (EventSource cannot send the key): calls
  // onEvent(name, data) per event; resolves when the stream ends, rejects when it cannot be read.
  async events(id, onEvent, signal) {
    const response = await this.request(`/v1/videos/${encodeURIComponent(id)}/events`, {
      headers: { Accept: "text/event-stream" },
      signal,
    });
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += value.replace(/\r\n?/g, "\n");
      let end;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const event = parseEvent(block);
        if (event) onEvent(event.name, event.data);
      }
    }
  }
}

function parseEvent(block) {
  let name = "message";
  const data = [];
  for (const line of block.split("\n")) {
    if (line.startsWith(":")) continue; // a comment: the server's keep-alive ping
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
    if (field === "event") name = value;
    else if (field === "data") data.push(value);
  }
  return data.length ? { name, data: JSON.parse(data.join("\n")) } : null;
}

async function refusal(response) {
  let message = `The server answered ${response.status} ${response.statusText}.`;
  let param = null;
  try {
    const body = await response.json();
    const error = body.error || body;
    if (typeof error.message === "string") message = error.message;
    param = error.param || null;
  } catch {
    // not JSON: keep the status line
  }
  return new ApiError(response.status, message, param);
}
