// Logging in from the mini-program: `wx.login()` gives a code; a bound WeChat account gets
// tokens at once, a new one binds with the phone number button's code (and, for an account
// with a role or a password, that password or an administrator's one-time code).

import { type Api, type Schemas } from "./api.js";
import type { Wx } from "./wx.js";

export type TokenPair = Schemas["TokenPair"];

function wxLogin(wx: Wx): Promise<string> {
  return new Promise((resolve, reject) => {
    wx.login({ success: (r) => resolve(r.code), fail: (e) => reject(new Error(e.errMsg)) });
  });
}

export interface BindProof {
  /** The code from `<button open-type="getPhoneNumber">`. */
  phoneCode: () => Promise<string>;
  password?: string;
  oneTimeCode?: string;
}

/** Logs in with WeChat; binds first when WeChat does not know this account yet. */
export async function loginWithWechat(api: Api, wx: Wx, proof: BindProof): Promise<TokenPair> {
  const code = await wxLogin(wx);
  const answer = await api.call("post", "/v1/auth/wechat", { body: { code } });
  let tokens: TokenPair;
  if (answer.status === "logged_in") {
    tokens = answer.tokens;
  } else {
    const bind: Schemas["WechatBindRequest"] = {
      bind_token: answer.bind_token,
      phone_code: await proof.phoneCode(),
    };
    if (proof.password !== undefined) bind.password = proof.password;
    if (proof.oneTimeCode !== undefined) bind.one_time_code = proof.oneTimeCode;
    tokens = await api.call("post", "/v1/auth/wechat/bind", { body: bind });
  }
  api.accessToken = tokens.access_token;
  wx.setStorageSync("refresh_token", tokens.refresh_token);
  return tokens;
}
