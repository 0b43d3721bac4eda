// Channels: the group robots (WeCom, DingTalk) and webhooks the org's digests go to, each with
// its schedules, a test message whose outcome is followed until it is known, edit and delete.
// Credentials are write-only: the API shows only their last characters (`secret_hint`).

import { api } from '../../api.js';
import { h, clear, field, select, dialog, confirmDialog, busy, toast, errorBox, fmt, idempotencyKey, uid } from '../../ui.js';
import { kindNames, scheduleWords, zoneWords, WEEKDAYS, frequencyNames, redact } from './words.js';
import { watchDelivery, deliveryWords, statusBadge } from './deliveries.js';

// The `name` parameter of a robot's webhook address as copied from the group's settings
// (https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=…), or the value itself when it is
// not an address. Throws a message for the form when an address lacks it.
function paramOf(value, name, what) {
  const v = value.trim();
  if (!/^https?:\/\//i.test(v)) return v;
  let u;
  try { u = new URL(v); } catch (_) { throw new Error(`${what}不是有效的网址`); }
  const got = u.searchParams.get(name);
  if (!got) throw new Error(`${what}中没有 ${name}=…，请复制机器人的完整 Webhook 地址`);
  return got;
}

function input(name, attrs = {}) {
  return h('input', { name, autocomplete: 'off', spellcheck: 'false', ...attrs });
}

// The fields of a channel's credentials for `kind`; on edit (`ch`) they are optional and say
// which secret is kept when left empty.
function credentialFields(kind, ch) {
  const keep = ch ? `现用密钥尾号 ${ch.secret_hint}；留空表示不修改。` : '';
  if (kind === 'wecom_robot') {
    return [field('机器人 Webhook 地址', input('wecom_address', { required: !ch, maxlength: 1100, placeholder: 'https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=…' }),
      `${keep}在企业微信群里打开“群机器人”，复制它的 Webhook 地址粘贴到这里（也可只填 key）。`)];
  }
  if (kind === 'dingtalk_robot') {
    return [
      field('机器人 Webhook 地址', input('ding_address', { required: !ch, maxlength: 1100, placeholder: 'https://oapi.dingtalk.com/robot/send?access_token=…' }),
        `${keep}在钉钉群设置 → 机器人 → 自定义机器人里复制 Webhook 地址（也可只填 access_token）。`),
      field('加签密钥', input('ding_secret', { type: 'password', required: !ch, maxlength: 1024, placeholder: 'SEC…', autocomplete: 'new-password' }),
        '机器人安全设置选“加签”，复制以 SEC 开头的密钥。修改时地址和密钥要一起填。'),
    ];
  }
  return [
    field('接收地址', input('url', { type: 'url', required: !ch, maxlength: 1000, placeholder: 'https://…' }),
      ch && ch.url ? `现用地址：${ch.url}；留空表示不修改。` : '对方平台提供的 HTTPS 地址。'),
    field('签名密钥（可选）', input('webhook_secret', { type: 'password', maxlength: 1024, placeholder: 'whsec_…', autocomplete: 'new-password' }),
      ch ? `${keep}` : '按 Standard Webhooks 签名；留空则自动生成一个，只显示一次。'),
  ];
}

// The request body of the channel form: `kind`'s credentials (all of them, or none on edit).
function credentialsOf(form, kind, editing) {
  const v = (n) => (form.elements[n] ? form.elements[n].value.trim() : '');
  if (kind === 'wecom_robot') {
    const a = v('wecom_address');
    return a ? { key: paramOf(a, 'key', 'Webhook 地址') } : {};
  }
  if (kind === 'dingtalk_robot') {
    const a = v('ding_address');
    const s = v('ding_secret');
    if (editing && !a && !s) return {};
    if (!a || !s) throw new Error('钉钉机器人的 Webhook 地址和加签密钥要一起填写');
    return { access_token: paramOf(a, 'access_token', 'Webhook 地址'), secret: s };
  }
  const out = {};
  if (v('url')) out.url = v('url');
  if (v('webhook_secret')) out.secret = v('webhook_secret');
  return out;
}

async function channelDialog(ctx, ch) {
  const kindSelect = select('kind', Object.entries(kindNames), ch ? ch.kind : 'wecom_robot');
  const creds = h('div', { class: 'creds' });
  const kind = () => (ch ? ch.kind : kindSelect.value);
  const drawCreds = () => clear(creds, credentialFields(kind(), ch));
  kindSelect.addEventListener('change', drawCreds);
  drawCreds();
  const name = input('name', { required: true, maxlength: 100, value: ch ? ch.name : '', placeholder: '例如：支部委员工作群' });
  const alerts = h('input', { type: 'checkbox', name: 'alerts', id: uid('alerts'), checked: ch ? ch.alerts : false });
  const body = h('div', {},
    field('名称', name, '自己看的名字，方便区分多个群。'),
    ch ? h('p', {}, '类型：', kindNames[ch.kind] || ch.kind) : field('类型', kindSelect),
    creds,
    h('div', { class: 'check' }, alerts,
      h('label', { for: alerts.id },
        '同时推送会议提醒（签到结束后的出勤情况；会前一天还有多人未回复时提醒）')));
  return dialog(ch ? `修改推送渠道“${ch.name}”` : '添加推送渠道', body, {
    submitText: ch ? '保存' : '添加',
    onSubmit: async (form) => {
      const k = kind();
      const payload = { name: name.value.trim(), alerts: alerts.checked, ...credentialsOf(form, k, !!ch) };
      if (ch) return api.patch(`/v1/push-channels/${ch.id}`, payload);
      return api.post(`/v1/orgs/${ctx.orgId}/push-channels`, { kind: k, ...payload }, {
        headers: { 'Idempotency-Key': idempotencyKey() },
      });
    },
  });
}

async function scheduleDialog(ch, tz) {
  const freq = select('frequency', Object.entries(frequencyNames), 'monthly');
  const weekday = select('weekday', WEEKDAYS.map((w, i) => [i + 1, w]), 1);
  const monthDay = select('month_day', Array.from({ length: 28 }, (_, i) => [i + 1, `${i + 1} 日`]), 1);
  const time = h('input', { type: 'time', name: 'time', value: '09:00', required: true, step: 60 });
  const weekdayField = field('星期几', weekday);
  const dayField = field('每月几号', monthDay, '只能选 1–28 日，保证每个月都有这一天。');
  const says = h('p', { class: 'says', 'aria-live': 'polite' });
  const request = () => {
    const r = { frequency: freq.value, time: time.value };
    if (r.frequency === 'weekly') r.weekday = Number(weekday.value);
    if (r.frequency === 'monthly') r.month_day = Number(monthDay.value);
    return r;
  };
  const update = () => {
    weekdayField.hidden = freq.value !== 'weekly';
    dayField.hidden = freq.value !== 'monthly';
    says.textContent = time.value ? `将${scheduleWords(request(), tz)}。` : '';
  };
  for (const el of [freq, weekday, monthDay, time]) el.addEventListener('input', update);
  update();
  const body = h('div', {},
    h('p', {}, `发到：${ch.name}`),
    field('多久发一次', freq),
    weekdayField, dayField,
    field('几点发', time, `按${zoneWords(tz)}，24 小时制。`),
    says);
  return dialog('添加定时推送', body, {
    submitText: '添加',
    onSubmit: () => api.post(`/v1/push-channels/${ch.id}/schedules`, request(), { headers: { 'Idempotency-Key': idempotencyKey() } }),
  });
}

function secretShownOnce(secret) {
  const box = h('input', { readonly: true, value: secret, class: 'secret', name: 'signing_secret' });
  const copy = h('button', { type: 'button', onclick: async () => {
    box.select();
    try { await navigator.clipboard.writeText(secret); toast('已复制'); } catch (_) { toast('请手动复制（Ctrl+C）'); }
  } }, '复制');
  return dialog('请保存签名密钥', h('div', {},
    h('p', {}, '系统为这个 Webhook 生成了签名密钥。它只显示这一次，请复制给对方平台：'),
    field('签名密钥', box), copy), { submitText: '我已保存' });
}

export function channelsSection(ctx, { tz, deliveries }) {
  const { orgId, signal } = ctx;
  const list = h('div', { class: 'channel-list' });
  const add = h('button', { type: 'button', class: 'primary' }, '添加推送渠道');
  const section = h('section', { class: 'pushes-channels', 'aria-labelledby': 'pushes-channels-h' },
    h('div', { class: 'section-head' },
      h('h2', { id: 'pushes-channels-h' }, '推送渠道'), add),
    h('p', { class: 'muted' }, '把学习简报自动发到支部的企业微信群或钉钉群。添加群机器人后，先“发送测试消息”确认能收到，再设置定时推送。'),
    list);

  // Draws the channels (`known`, or read again).
  async function reload(known) {
    let channels = known;
    try {
      if (!channels) channels = await api.get(`/v1/orgs/${orgId}/push-channels`, undefined, { signal });
    } catch (e) {
      if (!signal.aborted) clear(list, errorBox(e));
      return [];
    }
    clear(list, channels.length
      ? channels.map(card)
      : h('div', { class: 'card empty-channels' }, h('p', {}, '还没有推送渠道。点“添加推送渠道”，粘贴群机器人的 Webhook 地址即可。')));
    return channels;
  }

  async function sendTest(ch, button, result) {
    clear(result, '正在发送测试消息…');
    result.className = 'test-result';
    const queued = await busy(button, () => api.post(`/v1/push-channels/${ch.id}/test`, undefined, {
      headers: { 'Idempotency-Key': idempotencyKey() },
    }));
    if (!queued) { clear(result); return; }
    deliveries.replace(queued);
    const show = (d) => showResult(result, d);
    show(queued);
    const last = await watchDelivery(queued, {
      signal,
      onUpdate: (d) => deliveries.replace(d),
    }).catch(() => queued);
    if (signal.aborted) return;
    if (last.status === 'pending') {
      clear(result, statusBadge(last), ' ', `测试消息（第 ${last.id} 号）还在发送，可在下方“发送记录”中查看结果。`);
    }
    if (last.status !== 'delivered') reload(); // a refused key marks the channel broken
  }

  // Each channel's test outcome, kept when the cards are drawn again, and the delivery it is
  // about (a test sent again from the list updates it too).
  const results = new Map();
  const shown = new Map();

  function showResult(result, d) {
    shown.set(d.channel_id, d.id);
    result.className = `test-result ${d.status}`;
    clear(result, statusBadge(d), ' ', `测试消息（第 ${d.id} 号）${deliveryWords(d)}`,
      d.status === 'delivered' ? '。请到群里看看是否收到。' : '');
  }

  function deliveryChanged(d) {
    if (d.purpose === 'test' && shown.get(d.channel_id) === d.id && results.has(d.channel_id)) {
      showResult(results.get(d.channel_id), d);
    }
  }

  function card(ch) {
    if (!results.has(ch.id)) results.set(ch.id, h('p', { class: 'test-result', role: 'status', 'aria-live': 'polite' }));
    const result = results.get(ch.id);
    const titleId = `channel-${ch.id}-h`;
    const test = h('button', { type: 'button', class: 'test', 'aria-describedby': titleId }, '发送测试消息');
    test.addEventListener('click', () => sendTest(ch, test, result));
    const schedules = ch.schedules.length
      ? h('ul', { class: 'schedules' }, ch.schedules.map((s) => h('li', { dataset: { scheduleId: s.id } },
        h('span', {}, scheduleWords(s, tz)),
        h('button', {
          type: 'button', class: 'link danger-link', 'aria-label': `取消定时推送：${scheduleWords(s, tz)}`,
          onclick: async (ev) => {
            if (!await confirmDialog('取消定时推送', `不再${scheduleWords(s, tz)}？`, '取消这项推送')) return;
            const done = await busy(ev.currentTarget, () => api.del(`/v1/push-schedules/${s.id}`).then(() => true));
            if (done) { toast('已取消定时推送', 'success'); reload(); }
          },
        }, '取消'))))
      : h('p', { class: 'muted' }, '还没有定时推送：只会在手动测试时发消息。');
    return h('article', { class: 'card channel', dataset: { channelId: ch.id }, 'aria-labelledby': titleId },
      h('div', { class: 'channel-head' },
        h('h3', { id: titleId }, ch.name),
        h('span', { class: 'badge kind' }, kindNames[ch.kind] || ch.kind),
        ch.broken
          ? h('span', { class: 'badge bad' }, '已失效')
          : h('span', { class: 'badge ok' }, '可用')),
      ch.broken
        ? h('div', { class: 'error-box', role: 'alert' },
          `${fmt.dateTime(ch.broken.at)} 对方拒绝了这个渠道的地址或密钥（${redact(ch.broken.reason)}），此后不再发送。请点“修改”填入新的 Webhook 地址。`)
        : null,
      h('dl', { class: 'facts' },
        ch.url ? [h('dt', {}, '接收地址'), h('dd', { class: 'url' }, ch.url)] : null,
        h('dt', {}, '密钥'), h('dd', {}, `尾号 ${ch.secret_hint}（密钥不再显示）`),
        h('dt', {}, '会议提醒'), h('dd', {}, ch.alerts ? '推送' : '不推送'),
        h('dt', {}, '添加于'), h('dd', {}, fmt.dateTime(ch.created_at))),
      h('h4', {}, '定时推送'),
      schedules,
      h('div', { class: 'channel-actions' },
        test,
        h('button', {
          type: 'button', class: 'add-schedule', 'aria-describedby': titleId,
          onclick: async () => { if (await scheduleDialog(ch, tz)) { toast('已添加定时推送', 'success'); reload(); } },
        }, '添加定时推送'),
        h('button', {
          type: 'button', class: 'edit', 'aria-describedby': titleId,
          onclick: async () => { if (await channelDialog(ctx, ch)) { toast('已保存', 'success'); reload(); } },
        }, '修改'),
        h('button', {
          type: 'button', class: 'danger delete', 'aria-describedby': titleId,
          onclick: async (ev) => {
            if (!await confirmDialog('删除推送渠道', `删除“${ch.name}”？删除后不再往这里推送，还没发出的消息会取消。`, '删除')) return;
            const done = await busy(ev.currentTarget, () => api.del(`/v1/push-channels/${ch.id}`).then(() => true));
            if (done) { toast('已删除', 'success'); reload(); deliveries.reload(); }
          },
        }, '删除')),
      result);
  }

  add.addEventListener('click', async () => {
    const created = await channelDialog(ctx);
    if (!created) return;
    toast(`已添加“${created.channel.name}”`, 'success');
    await reload();
    if (created.signing_secret) await secretShownOnce(created.signing_secret);
  });

  return { el: section, reload, deliveryChanged };
}
