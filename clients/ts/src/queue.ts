// The offline study queue: every played span becomes an event with a client-generated
// `client_event_id`, kept in storage until the server has answered for it. A batch that
// got no answer is sent again as is; the server answers a replayed event with its original
// result (`replayed: true`) and never credits it twice.

import { type Api, Offline, type Schemas } from "./api.js";
import type { Wx } from "./wx.js";

export type StudyEvent = Schemas["EventInput"];
export type SyncAnswer = Schemas["SyncResponse"];

const KEY = "study_queue";
/** The route takes up to 200 events a batch. */
const BATCH = 200;

export class StudyQueue {
  constructor(
    private readonly api: Api,
    private readonly wx: Wx,
  ) {}

  pending(): StudyEvent[] {
    return (this.wx.getStorageSync(KEY) as StudyEvent[] | undefined) ?? [];
  }

  /** Records a played span (kept even if the phone is switched off). */
  add(event: Omit<StudyEvent, "client_event_id">): StudyEvent {
    const e: StudyEvent = { client_event_id: crypto.randomUUID(), ...event };
    this.wx.setStorageSync(KEY, [...this.pending(), e]);
    return e;
  }

  /**
   * Sends what is pending, a batch at a time; an event leaves the queue only once the
   * server answered for it. Returns the answers, or `null` when offline (nothing lost).
   */
  async flush(): Promise<SyncAnswer[] | null> {
    const answers: SyncAnswer[] = [];
    for (;;) {
      const batch = this.pending().slice(0, BATCH);
      if (batch.length === 0) return answers;
      let answer: SyncAnswer;
      try {
        answer = await this.api.call("post", "/v1/progress/sync", { body: { events: batch } });
      } catch (e) {
        if (e instanceof Offline) return null;
        throw e;
      }
      const done = new Set(answer.results.map((r) => r.client_event_id));
      this.wx.setStorageSync(KEY, this.pending().filter((e) => !done.has(e.client_event_id)));
      answers.push(answer);
    }
  }
}
