package dev.sixpd.nn.cli;

import dev.sixpd.nn.plan.PlanArgs;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Unmatched;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

/**
 * {@code sixpd plan}: the textbook training estimates (6PD, memory, time, cost) for sizes no CPU can train. The
 * options are parsed by {@link PlanArgs}, which the planner owns; this command passes them through.
 */
@Command(name = "plan", description = "Estimate FLOPs, time, cost and memory of training a large model.")
public final class PlanCommand implements Callable<Integer> {
    @Option(names = {"-h", "--help"}, description = "show the planner's options")
    boolean help;
    @Unmatched
    List<String> args = new ArrayList<>();

    @Override
    public Integer call() {
        if (help) {
            System.out.print(PlanArgs.USAGE);
            return 0;
        }
        System.out.print(PlanArgs.run(args.toArray(String[]::new)));
        System.out.flush();
        return 0;
    }
}
