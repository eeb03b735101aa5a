import { describe, expect, it } from "vitest";
import { SseParser } from "./sse";

describe("SseParser", () => {
  it("parses events split anywhere across chunks", () => {
    const text = 'event: machine\ndata: {"id":"m1"}\n\n: keep-alive\n\nevent: status\ndata: {"id":"m2",\ndata: "to":"offline"}\n\n';
    for (let cut = 1; cut < text.length; cut++) {
      const p = new SseParser();
      const got = [...p.push(text.slice(0, cut)), ...p.push(text.slice(cut))];
      expect(got).toEqual([
        { event: "machine", data: '{"id":"m1"}' },
        { event: "status", data: '{"id":"m2",\n"to":"offline"}' },
      ]);
    }
  });

  it("takes CRLF and CR line ends, and defaults the event name", () => {
    const p = new SseParser();
    expect(p.push("data: a\r\n\r\ndata:b\r\rdata: c\n")).toEqual([
      { event: "message", data: "a" },
      { event: "message", data: "b" },
    ]);
    expect(p.push("\n")).toEqual([{ event: "message", data: "c" }]);
  });

  it("waits for the end of a CRLF split between chunks", () => {
    const p = new SseParser();
    expect(p.push("data: x\r")).toEqual([]);
    expect(p.push("\n\r\n")).toEqual([{ event: "message", data: "x" }]);
  });

  it("ignores comments and events without data", () => {
    const p = new SseParser();
    expect(p.push(": ping\n\nevent: lagged\n\n")).toEqual([]);
  });
});
