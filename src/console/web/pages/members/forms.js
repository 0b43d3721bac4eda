// The member form of the add and edit dialogs, and the request bodies made from it.

import { h, field, select, names } from '../../ui.js';

// `m` is the member being edited (null when adding); `orgOptions` [[id, label]] and
// `orgValue` choose the branch or party group a new member joins.
export function memberForm(m, orgOptions, orgValue) {
  const v = (k) => (m && m[k] !== null && m[k] !== undefined ? m[k] : '');
  const body = h('div', { class: 'member-form' },
    m ? null : field('加入组织', select('org_id', orgOptions, orgValue)),
    h('div', { class: 'grid2' },
      field('姓名', h('input', { name: 'name', required: true, maxlength: 100, value: v('name'), autocomplete: 'off' })),
      field('手机号', h('input', {
        name: 'phone', type: 'tel', required: true, inputmode: 'numeric', maxlength: 11, pattern: '1[0-9]{10}',
        value: v('phone'), autocomplete: 'off', title: '11 位手机号',
      }), m ? '修改手机号会使该党员所有登录失效并解除微信绑定。' : null),
      field('类别', select('category', Object.entries(names.category), v('category') || 'full')),
      field('性别', select('gender', [['', '未填'], ['male', '男'], ['female', '女']], v('gender'))),
      field('出生日期', h('input', { name: 'birth_date', type: 'date', value: v('birth_date') })),
      field('入党日期', h('input', { name: 'joined_party_on', type: 'date', value: v('joined_party_on') }), '入党积极分子不填'),
      m ? null : field('加入日期', h('input', { name: 'from_date', type: 'date' }), '不填为今天')),
    h('div', { class: 'check' },
      h('input', { type: 'checkbox', name: 'is_cadre', id: m ? `cadre-${m.user_id}` : 'cadre-new', checked: m ? m.is_cadre : false }),
      h('label', { for: m ? `cadre-${m.user_id}` : 'cadre-new' }, '村（社区）干部')));
  return { body };
}

const val = (f, name) => (f.elements[name] ? f.elements[name].value.trim() : '');

// POST /v1/orgs/{id}/members: the org and the AddMemberRequest.
export function addBody(f) {
  const body = {
    name: val(f, 'name'),
    phone: val(f, 'phone'),
    category: val(f, 'category'),
    is_cadre: f.elements.is_cadre.checked,
  };
  for (const k of ['gender', 'birth_date', 'joined_party_on', 'from_date']) {
    if (val(f, k)) body[k] = val(f, k);
  }
  return { orgId: Number(val(f, 'org_id')), body };
}

// PATCH /v1/members/{user_id}: only what changed; an emptied optional field is null.
export function patchBody(f, m) {
  const body = {};
  for (const k of ['name', 'phone', 'category']) {
    if (val(f, k) && val(f, k) !== m[k]) body[k] = val(f, k);
  }
  for (const k of ['gender', 'birth_date', 'joined_party_on']) {
    const now = val(f, k) || null;
    if (now !== (m[k] || null)) body[k] = now;
  }
  if (f.elements.is_cadre.checked !== m.is_cadre) body.is_cadre = f.elements.is_cadre.checked;
  return body;
}
