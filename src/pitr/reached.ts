import { describeGap, pgTime, segmentAtOrBefore } from './plan.ts';
import type { PitrOutcome } from './types.ts';

const at = (iso: string): string => pgTime(iso).replace(/\+00$/, ' UTC');
const markerText = (m: { id: number; markedAt: string }): string => `marker ${m.id} (written ${at(m.markedAt)})`;

/**
 * Whether the recovered cluster ended where it should: out of recovery, from the planned set, at
 * the expected marker with the next one absent, no transaction replayed past a time target, and —
 * for `latest` — every archived segment replayed. The one judgement the check and the record share.
 */
export function judgeTarget(p: PitrOutcome): { ok: boolean; summary: string; problems: string[] } {
  const problems: string[] = [];
  if (p.reached.inRecovery !== false) problems.push('recovery did not finish (the server never left recovery)');
  if (p.set.restoredStartLsn !== null && p.set.restoredStartLsn !== p.set.lsnStart) {
    problems.push(`pgBackRest restored another backup than set ${p.set.label}: its backup_label starts at ${p.set.restoredStartLsn}, the set at ${p.set.lsnStart}`);
  }
  const { expected, firstAbsent, restoredNewest } = p.markers;
  if (expected && restoredNewest?.id !== expected.id) {
    problems.push(`the restored markers end at ${restoredNewest ? markerText(restoredNewest) : 'no marker'}, expected ${markerText(expected)}, the last before the target`);
  }
  if (firstAbsent && p.markers.firstAbsentRestored) problems.push(`${markerText(firstAbsent)}, written after the target, is in the restored cluster: recovery went past the target`);
  if (p.target.type === 'time' && p.reached.lastReplayAt && p.reached.lastReplayAt > p.target.value!) {
    problems.push(`the last replayed transaction (${at(p.reached.lastReplayAt)}) is after the target (${at(p.target.value!)})`);
  }
  if (p.target.type === 'latest' && p.archive.max && p.reached.lastRestoredSegment && !segmentAtOrBefore(p.archive.max, p.reached.lastRestoredSegment)) {
    const gap = p.archive.gaps.find((g) => segmentAtOrBefore(p.reached.lastRestoredSegment!, g.after));
    problems.push(`recovery ended at segment ${p.reached.lastRestoredSegment} but the archive holds segments up to ${p.archive.max}${gap ? `: ${describeGap(gap)}` : ''}`);
  }
  const target = p.target.type === 'time' ? at(p.target.value!) : p.target.type === 'name' ? `restore point "${p.target.value}"` : `the end of the archive (${p.reached.lastRestoredSegment ?? 'no segment'})`;
  const replay = p.reached.lastReplayAt ? `last replayed transaction ${at(p.reached.lastReplayAt)}` : 'no transaction replayed';
  const markers = !p.markers.available
    ? 'no markers in the source (run `pgdrill pitr mark`, the service does hourly)'
    : expected
      ? `the restored markers end at ${markerText(expected)}${firstAbsent ? `; ${markerText(firstAbsent)} is absent` : ''}`
      : `newest restored marker: ${restoredNewest ? markerText(restoredNewest) : 'none'}`;
  if (problems.length) return { ok: false, summary: `recovery to ${target} is wrong: ${problems.join('; ')}`, problems };
  return { ok: true, summary: `recovered to ${target} from set ${p.set.label}: ${markers}; ${replay}`, problems };
}
