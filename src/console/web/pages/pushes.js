// 推送: the org's group robots and webhooks (channels) with their schedules and test
// messages, the digest they send (previewed as the chat shows it, with its chart), and the
// deliveries with every attempt, retried when dead. Modules under pushes/.

import { api } from '../api.js';
import { h, pageStyle } from '../ui.js';
import { channelsSection } from './pushes/channels.js';
import { digestSection } from './pushes/digest.js';
import { deliveriesSection } from './pushes/deliveries.js';

export async function render(ctx) {
  pageStyle('pushes');
  ctx.setTitle('推送');
  // The org's time zone names the hour of a schedule (Asia/Shanghai unless set otherwise).
  const [settings, channels] = await Promise.all([
    api.get(`/v1/orgs/${ctx.orgId}/settings`, undefined, { signal: ctx.signal }).catch(() => null),
    api.get(`/v1/orgs/${ctx.orgId}/push-channels`, undefined, { signal: ctx.signal }),
  ]);
  const tz = (settings && settings.time_zone && settings.time_zone.value) || 'Asia/Shanghai';
  const deliveries = deliveriesSection(ctx);
  const channelList = channelsSection(ctx, { tz, deliveries });
  const robots = channels.filter((c) => c.kind !== 'webhook');
  const digest = digestSection(ctx, { preferDingTalk: robots.length > 0 && robots[0].kind === 'dingtalk_robot' });
  deliveries.onChanged = () => channelList.reload();
  deliveries.onUpdate = (d) => channelList.deliveryChanged(d);
  ctx.root.append(
    h('h1', {}, `推送 · ${ctx.org.name}`),
    channelList.el,
    digest.el,
    deliveries.el);
  await Promise.all([channelList.reload(channels), digest.load(), deliveries.reload()]);
}
