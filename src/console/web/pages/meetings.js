// 会议 (meetings): the org's calendar and scheduling, one occurrence's page (check-in,
// attendance, leave, minutes), and the projector view of its check-in code.
//   #/meetings/<orgId>[?month=YYYY-MM]
//   #/meetings/<orgId>/occurrence/<occurrenceId>
//   #/meetings/<orgId>/occurrence/<occurrenceId>/projector

import { notFound, pageStyle } from '../ui.js';
import { renderCalendar } from './meetings/calendar.js';
import { renderOccurrence, renderProjector } from './meetings/occurrence.js';

export async function render(ctx) {
  pageStyle('meetings');
  const [what, id, view] = ctx.rest;
  if (!what) return renderCalendar(ctx);
  if (what === 'occurrence' && /^\d+$/.test(id || '')) {
    if (!view) return renderOccurrence(ctx, Number(id));
    if (view === 'projector') return renderProjector(ctx, Number(id));
  }
  ctx.setTitle('未找到');
  ctx.root.append(notFound('该页面'));
  return undefined;
}
