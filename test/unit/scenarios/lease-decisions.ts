/**
 * Scenario table for decideLeasesToTake (src/leases/decisions.ts; see docs/lease-protocol.md, 'Expiry' and
 * 'Taking and stealing'), one scenario a row: [name, leases in table order, settings, expected].
 *
 * A lease:   `KEY [owner=W] [counter=N] [cp=SEQ] [cpOwner=W] [seen=T|-]`
 *            no owner = unowned; counter 0 and cp TRIM_HORIZON unless given; cpOwner = a hand-off is pending
 *            (the holder still finishing); seen=T: observed with this counter, last changing at local time T;
 *            seen=- : observed with no timestamp; no seen: never observed.
 * Settings:  `me=W now=T failover=MS maxForWorker=N|none maxSteal=N held=K,K` (defaults below).
 * Expected:  `take=K,K steal=K,K target=N workers=N [mine=N]`, or `stealCount=N stealFrom=W` instead of steal=
 *            when which leases are stolen is up to the shuffle.
 * The shuffle is the identity, so take= and steal= list the first leases in table order.
 */
export const DEFAULTS = 'me=me now=100000 failover=10000 maxForWorker=none maxSteal=1 held=';

export type ScenarioRow = readonly [name: string, leases: readonly string[], settings: string, expected: string];

// prettier-ignore
export const SCENARIOS: readonly ScenarioRow[] = [
  ["empty table: nothing to take, target 1, only self counted", [], "", "take= steal= target=1 workers=1 mine=0"],
  ["single worker takes all unowned leases (the once-held one first: its processing had stopped)", ["s0", "s1 cp=LATEST", "s2 counter=4 cp=12345"], "", "take=s2,s0,s1 steal= target=3 workers=1 mine=0"],
  ["unowned leases are available even when observed as just changed", ["s0 counter=7 seen=100000"], "", "take=s0 steal= target=1 workers=1"],
  ["expired foreign lease (age 10001 > failover 10000) is taken", ["s0 owner=w2 counter=5 cp=100 seen=89999"], "", "take=s0 steal= target=1 workers=1 mine=0"],
  ["not-yet-expired foreign lease (age 5000) is not taken, and its owner is counted", ["s0 owner=w2 counter=5 cp=100 seen=95000"], "", "take= steal= target=1 workers=2 mine=0"],
  ["age exactly equal to failover is not expired; one millisecond more is", ["s0 owner=w2 counter=5 cp=100 seen=90000", "s1 owner=w2 counter=9 cp=200 seen=89999"], "", "take=s1 steal= target=1 workers=2 mine=0"],
  ["owned lease never observed counts as expired and is taken", ["s0 owner=w2 counter=5 cp=100"], "", "take=s0 steal= target=1 workers=1"],
  ["owned lease observed with lastChangeAt null counts as expired", ["s0 owner=w2 counter=5 cp=100 seen=-"], "", "take=s0 steal= target=1 workers=1"],
  ["clock jumped back more than a year: the age is not trusted and the lease is available", ["s0 owner=w2 counter=5 cp=100 seen=31536100001"], "", "take=s0 steal= target=1 workers=1"],
  ["SHARD_END leases are neither taken nor counted (their owner is not a worker for the fair share)", ["s0 counter=3 cp=SHARD_END", "s1 owner=w2 counter=8 cp=SHARD_END seen=99000", "s2", "s3"], "", "take=s2,s3 steal= target=2 workers=1 mine=0"],
  ["only SHARD_END leases: nothing to do", ["s0 counter=3 cp=SHARD_END", "s1 owner=w2 counter=3 cp=SHARD_END"], "", "take= steal= target=1 workers=1"],
  ["fair share with 2 workers: ceil(5 / 2) = 3", ["s0 owner=w2 counter=1 cp=100 seen=99000", "s1", "s2", "s3", "s4"], "", "take=s1,s2,s3 steal= target=3 workers=2 mine=0"],
  ["fair share with 3 workers: ceil(7 / 3) = 3, leaving the rest for others", ["s0 owner=w2 counter=1 cp=100 seen=99000", "s1 owner=w2 counter=1 cp=100 seen=99000", "s2 owner=w3 counter=1 cp=100 seen=99000", "s3", "s4", "s5", "s6"], "", "take=s3,s4,s5 steal= target=3 workers=3 mine=0"],
  ["fair share with 3 workers when this worker already holds some: takes only the difference", ["s0 owner=me counter=4 cp=100 seen=99500", "s1 owner=w2 counter=1 cp=100 seen=99000", "s2 owner=w3 counter=1 cp=100 seen=99000", "s3", "s4", "s5"], "held=s0", "take=s3 steal= target=2 workers=3 mine=1"],
  ["already at the fair share: takes nothing even though leases are available", ["s0 owner=me counter=4 cp=100 seen=99500", "s1 owner=me counter=4 cp=100 seen=99500", "s2 owner=w2 counter=1 cp=100 seen=99000", "s3"], "held=s0,s1", "take= steal= target=2 workers=2 mine=2"],
  ["expired leases of another worker are available and not counted for it", ["s0 owner=w2 counter=1 cp=100 seen=99000", "s1 owner=w2 counter=1 cp=100 seen=50000", "s2"], "", "take=s1,s2 steal= target=2 workers=2 mine=0"],
  ["available leases are taken and nothing is stolen, even from a heavily loaded worker", ["s0 owner=w2 counter=1 cp=100 seen=99000", "s1 owner=w2 counter=1 cp=100 seen=99000", "s2 owner=w2 counter=1 cp=100 seen=99000", "s3 owner=w2 counter=1 cp=100 seen=99000", "s4"], "maxSteal=5", "take=s4 steal= target=3 workers=2 mine=0"],
  ["nothing available: steal from the single most loaded worker (not the first by name)", ["s0 owner=a-worker counter=1 cp=100 seen=99000", "s1 owner=a-worker counter=1 cp=100 seen=99000", "s2 owner=b-worker counter=1 cp=100 seen=99000", "s3 owner=b-worker counter=1 cp=100 seen=99000", "s4 owner=b-worker counter=1 cp=100 seen=99000", "s5 owner=b-worker counter=1 cp=100 seen=99000"], "maxSteal=2", "take= steal=s2,s3 target=2 workers=3 mine=0"],
  ["steal capped by maxLeasesToStealAtOneTime = 1 (needed 3, victim surplus 3)", ["s0 owner=w2 counter=1 cp=100 seen=99000", "s1 owner=w2 counter=1 cp=100 seen=99000", "s2 owner=w2 counter=1 cp=100 seen=99000", "s3 owner=w2 counter=1 cp=100 seen=99000", "s4 owner=w2 counter=1 cp=100 seen=99000", "s5 owner=w2 counter=1 cp=100 seen=99000"], "maxSteal=1", "take= steal=s0 target=3 workers=2 mine=0"],
  ["steal capped by maxLeasesToStealAtOneTime = 2 (needed 3, victim surplus 3)", ["s0 owner=w2 counter=1 cp=100 seen=99000", "s1 owner=w2 counter=1 cp=100 seen=99000", "s2 owner=w2 counter=1 cp=100 seen=99000", "s3 owner=w2 counter=1 cp=100 seen=99000", "s4 owner=w2 counter=1 cp=100 seen=99000", "s5 owner=w2 counter=1 cp=100 seen=99000"], "maxSteal=2", "take= steal=s0,s1 target=3 workers=2 mine=0"],
  ["steal limited by the victim's surplus, not by the cap (needed 3, surplus 2, cap 10)", ["s0 owner=w2 counter=1 cp=100 seen=99000", "s1 owner=w2 counter=1 cp=100 seen=99000", "s2 owner=w2 counter=1 cp=100 seen=99000", "s3 owner=w2 counter=1 cp=100 seen=99000", "s4 owner=w2 counter=1 cp=100 seen=99000", "s5 owner=w3 counter=1 cp=100 seen=99000", "s6 owner=w3 counter=1 cp=100 seen=99000", "s7 owner=w4 counter=1 cp=100 seen=99000", "s8 owner=w4 counter=1 cp=100 seen=99000"], "maxSteal=10", "take= stealCount=2 stealFrom=w2 target=3 workers=4 mine=0"],
  ["needed > 1 and the victim holds exactly target: steal 1 (not limited by the cap)", ["s0 owner=w2 counter=1 cp=100 seen=99000", "s1 owner=w2 counter=1 cp=100 seen=99000", "s2 owner=w3 counter=1 cp=100 seen=99000", "s3 owner=w3 counter=1 cp=100 seen=99000"], "maxSteal=5", "take= stealCount=1 stealFrom=w2 target=2 workers=3 mine=0"],
  ["needed = 1 and the victim holds exactly target: no steal", ["s0 owner=w2 counter=1 cp=100 seen=99000", "s1 owner=w2 counter=1 cp=100 seen=99000", "s2 owner=w3 counter=1 cp=100 seen=99000", "s3 owner=w3 counter=1 cp=100 seen=99000", "s4 owner=me counter=1 cp=100 seen=99000"], "maxSteal=5 held=s4", "take= steal= target=2 workers=3 mine=1"],
  ["balanced: 4 leases, 5 workers, this worker holds none: no steal (no thrash)", ["s0 owner=w1 counter=1 cp=100 seen=99000", "s1 owner=w2 counter=1 cp=100 seen=99000", "s2 owner=w3 counter=1 cp=100 seen=99000", "s3 owner=w4 counter=1 cp=100 seen=99000"], "maxSteal=5", "take= steal= target=1 workers=5 mine=0"],
  ["balanced within rounding: 5 leases, me 2, w2 3: no steal (no thrash)", ["s0 owner=me counter=1 cp=100 seen=99000", "s1 owner=me counter=1 cp=100 seen=99000", "s2 owner=w2 counter=1 cp=100 seen=99000", "s3 owner=w2 counter=1 cp=100 seen=99000", "s4 owner=w2 counter=1 cp=100 seen=99000"], "maxSteal=5 held=s0,s1", "take= steal= target=3 workers=2 mine=2"],
  ["maxLeasesForWorker caps the target (10 unowned, cap 3)", ["s0", "s1", "s2", "s3", "s4", "s5", "s6", "s7", "s8", "s9"], "maxForWorker=3", "take=s0,s1,s2 steal= target=3 workers=1 mine=0"],
  ["maxLeasesForWorker reached: takes and steals nothing", ["s0 owner=me counter=1 cp=100 seen=99000", "s1 owner=me counter=1 cp=100 seen=99000", "s2", "s3", "s4"], "maxForWorker=2 maxSteal=5 held=s0,s1", "take= steal= target=2 workers=1 mine=2"],
  ["held leases are never re-taken, even when the table shows them unobserved or unowned", ["s0 owner=me counter=3 cp=100", "s1 counter=3 cp=100", "s2"], "held=s0,s1", "take=s2 steal= target=3 workers=1"],
  ["own fresh leases count towards mine and are not taken again", ["s0 owner=me counter=3 cp=100 seen=99999", "s1"], "held=s0", "take=s1 steal= target=2 workers=1 mine=1"],
  ["a lease owned by this worker id but not held (left from an earlier run) is taken back at once, without waiting for expiry", ["s0 owner=me counter=7 cp=100 seen=99990", "s1 owner=w2 counter=2 cp=100 seen=99990"], "", "take=s0 steal= target=1 workers=2 mine=0"],
  ["a held lease counts as mine even when the scan makes it look expired", ["s0 owner=me counter=7 cp=100 seen=1000", "s1 owner=w2 counter=2 cp=100 seen=99990", "s2 owner=w2 counter=2 cp=100 seen=99990"], "held=s0", "take= steal= target=2 workers=2 mine=1"],
  ["hand-off to me pending (I am leaseOwner, old owner still checkpointing): not taken back as an orphan, counted as mine", ["s0 owner=me counter=5 cpOwner=other seen=99000", "s1 owner=other counter=5 seen=99000", "s2 owner=other counter=5 seen=99000"], "", "take= steal= target=2 workers=2 mine=1"],
  ["hand-off to me pending but the old owner stopped renewing for longer than failover: taken (the take clears checkpointOwner)", ["s0 owner=me counter=5 cpOwner=other seen=80000", "s1 owner=other counter=5 seen=99000", "s2 owner=other counter=5 seen=99000"], "", "take=s0 steal= target=2 workers=2 mine=0"],
  ["a lease already being handed to the most loaded worker is not stolen from it; another of its leases is", ["s0 owner=big counter=5 cpOwner=x seen=99000", "s1 owner=big counter=5 seen=99000", "s2 owner=big counter=5 seen=99000", "s3 owner=big counter=5 seen=99000"], "", "take= steal=s1 target=2 workers=2 mine=0"],
  ["crash: the first worker to see a dead worker's leases expire takes all of them, beyond its fair share", ["d0 owner=dead counter=7 seen=80000", "d1 owner=dead counter=9 seen=80000", "d2 owner=dead counter=4 seen=80000", "m0 owner=me counter=5 seen=99000", "m1 owner=me counter=5 seen=99000", "o0 owner=other counter=5 seen=99000", "o1 owner=other counter=5 seen=99000"], "held=m0,m1", "take=d0,d1,d2 steal= target=4 workers=2 mine=2"],
  ["an expired lease is taken even when this worker is already at its fair share", ["d0 owner=dead counter=7 seen=80000", "m0 owner=me counter=5 seen=99000", "m1 owner=me counter=5 seen=99000", "o0 owner=other counter=5 seen=99000", "o1 owner=other counter=5 seen=99000"], "held=m0,m1", "take=d0 steal= target=3 workers=2 mine=2"],
  ["released leases (unowned, counter > 0) are taken all at once; maxLeasesForWorker still caps them", ["r0 counter=12", "r1 counter=3", "r2 counter=8", "m0 owner=me counter=5 seen=99000", "o0 owner=other counter=5 seen=99000"], "maxForWorker=3 held=m0", "take=r0,r1 steal= target=3 workers=2 mine=1"],
  ["never-held leases (counter 0) are shared out: only the fair share is taken", ["n0", "n1", "n2", "n3", "o0 owner=other counter=5 seen=99000", "o1 owner=other counter=5 seen=99000"], "", "take=n0,n1,n2 steal= target=3 workers=2 mine=0"],
  ["at maxLeasesForWorker nothing is taken, not even an expired lease", ["d0 owner=dead counter=7 seen=80000", "m0 owner=me counter=5 seen=99000", "m1 owner=me counter=5 seen=99000"], "maxForWorker=2 held=m0,m1", "take= steal= target=2 workers=1 mine=2"],
];
