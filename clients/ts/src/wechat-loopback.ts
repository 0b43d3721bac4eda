// A loopback WeChat for the Node run: the three endpoints the server calls, in WeChat's
// documented shapes (shared/WECHAT.md), answering for the login and phone codes the flow
// registers. Never an in-code fake: the server reaches it over HTTP.

import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export class WechatLoopback {
  readonly logins = new Map<string, string>();
  readonly phones = new Map<string, string>();
  private server: Server;

  private constructor(server: Server) {
    this.server = server;
  }

  static async start(): Promise<WechatLoopback> {
    let self: WechatLoopback | undefined;
    const server = createServer((req, res) => {
      let body = "";
      req.on("data", (chunk: Buffer) => {
        body += chunk.toString();
      });
      req.on("end", () => {
        const url = new URL(req.url ?? "/", "http://loopback");
        const send = (v: unknown) => {
          res.setHeader("content-type", "application/json");
          res.end(JSON.stringify(v));
        };
        if (url.pathname === "/sns/jscode2session" && self) {
          const openid = self.logins.get(url.searchParams.get("js_code") ?? "");
          if (!openid) return send({ errcode: 40029, errmsg: "invalid code" });
          self.logins.delete(url.searchParams.get("js_code") ?? "");
          return send({ openid, session_key: "c2Vzc2lvbi1rZXk=", errcode: 0, errmsg: "ok" });
        }
        if (url.pathname === "/cgi-bin/stable_token") {
          return send({ access_token: "loopback-access-token", expires_in: 7200 });
        }
        if (url.pathname === "/wxa/business/getuserphonenumber" && self) {
          const code = (JSON.parse(body || "{}") as { code?: string }).code ?? "";
          const phone = self.phones.get(code);
          if (!phone) return send({ errcode: 40029, errmsg: "invalid code" });
          self.phones.delete(code);
          return send({
            errcode: 0,
            errmsg: "ok",
            phone_info: {
              phoneNumber: phone,
              purePhoneNumber: phone,
              countryCode: "86",
              watermark: { timestamp: Math.floor(Date.now() / 1000), appid: "wx-sample" },
            },
          });
        }
        res.statusCode = 404;
        send({ errcode: 404, errmsg: "not found" });
      });
    });
    self = new WechatLoopback(server);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return self;
  }

  get base(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  close(): void {
    this.server.close();
  }
}
