import type { Fleet } from '../lib/fixtures';
import type { Recorder } from '../lib/report';

/** What every scenario gets from the runner. */
export interface BenchContext {
  /** Measured runs per measure (after one discarded warm-up run). */
  runs: number;
  quick: boolean;
  /** Running containers for the at-scale scenarios. */
  containers: number;
  /** Keep the 1 GB image at the end. */
  keep: boolean;
  rec: Recorder;
  /** The labelled fleet of `containers` running containers, started on first use and removed by the runner. */
  fleet(): Promise<Fleet>;
}
