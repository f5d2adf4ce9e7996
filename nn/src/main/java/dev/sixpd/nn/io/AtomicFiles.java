package dev.sixpd.nn.io;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;

/**
 * Write-then-rename: a file is written under a temporary sibling name, forced to disk, and renamed over the target,
 * so readers see either the old file or the complete new one, never a torn one.
 */
public final class AtomicFiles {
    private AtomicFiles() {
    }

    /** The temporary sibling name used while {@code file} is being written. */
    public static Path tempFor(Path file) {
        return file.resolveSibling(file.getFileName() + ".tmp");
    }

    /** Forces {@code tmp} to disk and renames it to {@code target} (atomically where the file system can). */
    public static void commit(Path tmp, Path target) throws IOException {
        try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
            ch.force(true);
        }
        try {
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
        }
    }

    /** Writes {@code text} as UTF-8 to {@code file} atomically. */
    public static void writeString(Path file, String text) throws IOException {
        Path tmp = tempFor(file);
        Files.writeString(tmp, text, StandardCharsets.UTF_8);
        commit(tmp, file);
    }
}
