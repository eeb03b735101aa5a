// Server-Sent Events over fetch: EventSource cannot send the Authorization header.
import { authHeaders, API, refreshSession } from "./client";

export interface SseMessage {
  event: string;
  data: string;
}

/** Incremental parser for the text/event-stream format: feed chunks, get whole messages. */
export class SseParser {
  private buffer = "";
  private event = "";
  private data: string[] = [];

  push(chunk: string): SseMessage[] {
    this.buffer += chunk;
    const out: SseMessage[] = [];
    let nl: number;
    while ((nl = this.buffer.search(/\r\n|\r|\n/)) >= 0) {
      const line = this.buffer.slice(0, nl);
      const width = this.buffer.startsWith("\r\n", nl) ? 2 : 1;
      // A lone \r at the chunk's end may be the first half of \r\n: wait for more.
      if (this.buffer[nl] === "\r" && nl + 1 === this.buffer.length) break;
      this.buffer = this.buffer.slice(nl + width);
      if (line === "") {
        if (this.data.length > 0) out.push({ event: this.event || "message", data: this.data.join("\n") });
        this.event = "";
        this.data = [];
        continue;
      }
      if (line.startsWith(":")) continue;
      const colon = line.indexOf(":");
      const field = colon < 0 ? line : line.slice(0, colon);
      let value = colon < 0 ? "" : line.slice(colon + 1);
      if (value.startsWith(" ")) value = value.slice(1);
      if (field === "event") this.event = value;
      else if (field === "data") this.data.push(value);
    }
    return out;
  }
}

/** Follows /stream until `signal` aborts, reconnecting with a growing pause. */
export async function followStream(
  onMessage: (m: SseMessage) => void,
  onState: (connected: boolean) => void,
  signal: AbortSignal,
): Promise<void> {
  let pause = 1000;
  while (!signal.aborted) {
    try {
      let res = await fetch(`${API}/stream`, { headers: authHeaders(), signal });
      if (res.status === 401 && (await refreshSession())) {
        res = await fetch(`${API}/stream`, { headers: authHeaders(), signal });
      }
      if (res.ok && res.body) {
        onState(true);
        pause = 1000;
        const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
        const parser = new SseParser();
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          parser.push(value).forEach(onMessage);
        }
      }
    } catch {
      // Dropped or refused: try again after the pause.
    }
    onState(false);
    if (signal.aborted) return;
    await new Promise((r) => setTimeout(r, pause));
    pause = Math.min(pause * 2, 30_000);
  }
}
