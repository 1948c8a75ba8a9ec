import type { PlanRecord, HeaderRecord } from '../planfile/records.js';
import type { PlanTotals } from '../planfile/checkPlan.js';
export type { LinkRecord, StoreRecord } from '../planfile/records.js';

/** The part of an open plan that apply, verify and undo use. */
export interface OpenPlanLike {
  digest: string;
  header: HeaderRecord;
  totals: PlanTotals;
  records(): Iterable<PlanRecord>;
}
