package dev.sixpd.nn.train;

import dev.sixpd.mpi.Mpi;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

import java.io.PrintStream;
import java.time.Duration;
import java.util.Locale;

/**
 * Training progress: on a terminal, a live progress bar on stderr (step, loss, tokens/s, ETA; me.tongfei
 * progressbar); otherwise (a pipe, a file, CI) a plain line on the report stream about every 5% of the run, so
 * logs stay readable.
 */
abstract class Progress implements AutoCloseable {

    /** A bar when stderr is a terminal, plain lines otherwise. */
    static Progress create(long start, long end, PrintStream out) {
        java.io.Console console = System.console();
        // under mpirun (data parallelism) lines, not a bar: the ranks' output reaches the terminal through mpirun,
        // and a rank whose stdout is mpirun's pseudo-terminal would otherwise draw a bar on stderr
        boolean tty = console != null && console.isTerminal() && !"dumb".equals(System.getenv("TERM"))
                && !Mpi.launchedByMpirun();
        return tty ? new Bar(start, end, out) : new Lines(start, end, out);
    }

    /** After step {@code step}: its loss, the latest validation loss (NaN if none yet), mean tokens/s so far. */
    abstract void step(long step, double loss, double val, double tokensPerSecond);

    /** A line that must stay visible (validation results). */
    abstract void line(String text);

    @Override
    public abstract void close();

    private static final class Bar extends Progress {
        private final ProgressBar bar;
        private final PrintStream out;
        private boolean closed;

        Bar(long start, long end, PrintStream out) {
            this.out = out;
            bar = new ProgressBarBuilder().setTaskName("train").setInitialMax(end).setStyle(ProgressBarStyle.ASCII)
                    .setUpdateIntervalMillis(250).startsFrom(start, Duration.ZERO).setMaxRenderedLength(110)
                    .setUnit(" steps", 1).build();
        }

        @Override
        void step(long step, double loss, double val, double tps) {
            bar.stepTo(step);
            bar.setExtraMessage(String.format(Locale.ROOT, "loss %.4f%s %,.0f tok/s", loss,
                    Double.isNaN(val) ? "" : String.format(Locale.ROOT, " val %.4f", val), tps));
        }

        @Override
        void line(String text) {
            // clear the bar's line on stderr, print, and let the bar redraw below
            System.err.print("\r\033[K");
            System.err.flush();
            out.println(text);
            out.flush();
        }

        @Override
        public void close() {
            if (!closed) {
                closed = true;
                bar.close();
            }
        }
    }

    private static final class Lines extends Progress {
        private final PrintStream out;
        private final long start;
        private final long end;
        private final long every;
        private final long t0 = System.nanoTime();

        Lines(long start, long end, PrintStream out) {
            this.out = out;
            this.start = start;
            this.end = end;
            this.every = Math.max(1, (end - start) / 20);
        }

        @Override
        void step(long step, double loss, double val, double tps) {
            if ((step - start) % every != 0 && step != end) {
                return;
            }
            double secs = (System.nanoTime() - t0) / 1e9;
            double eta = secs / (step - start) * (end - step);
            out.printf(Locale.ROOT, "step %5d/%d  loss %.4f  %,.0f tokens/s  elapsed %s  ETA %s%n", step, end, loss,
                    tps, clock(secs), clock(eta));
        }

        @Override
        void line(String text) {
            out.println(text);
        }

        @Override
        public void close() {
            out.flush();
        }
    }

    static String clock(double seconds) {
        long s = Math.round(seconds);
        return String.format(Locale.ROOT, "%d:%02d", s / 60, s % 60);
    }
}
