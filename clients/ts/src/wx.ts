// The part of the mini-program API (`wx.*`) this client uses. In a mini-program the real
// `wx` object is passed in; in Node (tests) `nodeWx` stands in for it over `fetch`.

export interface WxResponse {
  statusCode: number;
  header: Record<string, string>;
  data: unknown;
}

export interface WxRequestOptions {
  url: string;
  method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  header?: Record<string, string>;
  data?: unknown;
  timeout?: number;
  success: (res: WxResponse) => void;
  fail: (err: { errMsg: string }) => void;
}

export interface Wx {
  request(options: WxRequestOptions): void;
  login(options: { success: (res: { code: string }) => void; fail: (err: { errMsg: string }) => void }): void;
  getStorageSync(key: string): unknown;
  setStorageSync(key: string, value: unknown): void;
}

/** A `wx` for Node: requests through `fetch`, storage in memory, login codes from `codes`. */
export class NodeWx implements Wx {
  online = true;
  private storage = new Map<string, unknown>();

  constructor(private codes: () => string) {}

  request(o: WxRequestOptions): void {
    if (!this.online) {
      // What a phone in the fields sees: no answer at all.
      setTimeout(() => o.fail({ errMsg: "request:fail net::ERR_INTERNET_DISCONNECTED" }), 0);
      return;
    }
    const init: RequestInit = { method: o.method, headers: o.header ?? {} };
    if (o.data !== undefined) {
      init.body = JSON.stringify(o.data);
    }
    fetch(o.url, init)
      .then(async (res) => {
        const header: Record<string, string> = {};
        res.headers.forEach((v, k) => {
          header[k] = v;
        });
        const text = await res.text();
        const type = header["content-type"] ?? "";
        const data: unknown = type.includes("json") && text.length > 0 ? JSON.parse(text) : text;
        o.success({ statusCode: res.status, header, data });
      })
      .catch((e: unknown) => o.fail({ errMsg: `request:fail ${String(e)}` }));
  }

  login(o: { success: (res: { code: string }) => void; fail: (err: { errMsg: string }) => void }): void {
    setTimeout(() => o.success({ code: this.codes() }), 0);
  }

  getStorageSync(key: string): unknown {
    return this.storage.get(key);
  }

  setStorageSync(key: string, value: unknown): void {
    this.storage.set(key, structuredClone(value));
  }
}
