package dev.sixpd.nn.cli;

import dev.sixpd.tensor.Formats;
import picocli.CommandLine.Command;

import java.util.concurrent.Callable;

/** {@code sixpd formats}: the numbers of FP32, BF16 and FP16, computed from their bit layouts. */
@Command(name = "formats", mixinStandardHelpOptions = true,
        description = "Print FP32, BF16 and FP16: smallest subnormal, smallest normal, largest finite, epsilon.")
public final class FormatsCommand implements Callable<Integer> {
    @Override
    public Integer call() {
        System.out.print(Formats.table());
        System.out.flush();
        return 0;
    }
}
