package dev.sixpd.nn.io;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Comparator;
import java.util.stream.Stream;

/**
 * Durable file operations: write-then-rename, {@code fsync} of files and directories, recursive delete.
 *
 * <p>A file written with {@link #writeString} or committed with {@link #commit} is written under a temporary
 * sibling name, forced to disk, renamed over the target, and then the directory is forced too, so that after a
 * crash (process or power) readers see either the old file or the complete new one, never a torn one, and the
 * rename itself is not lost. Static methods, no state; thread-safe as far as the file system is.
 */
public final class AtomicFiles {
    private AtomicFiles() {
    }

    /** The temporary sibling name used while {@code file} is being written. */
    public static Path tempFor(Path file) {
        return file.resolveSibling(file.getFileName() + ".tmp");
    }

    /**
     * Forces {@code tmp} to disk, renames it to {@code target} (atomically where the file system can) and forces the
     * directory.
     */
    public static void commit(Path tmp, Path target) throws IOException {
        fsync(tmp);
        move(tmp, target);
        fsyncDirectory(target.toAbsolutePath().getParent());
    }

    /** Writes {@code text} as UTF-8 to {@code file} atomically and durably. */
    public static void writeString(Path file, String text) throws IOException {
        Path tmp = tempFor(file);
        try {
            Files.writeString(tmp, text, StandardCharsets.UTF_8);
            commit(tmp, file);
        } catch (IOException | RuntimeException e) {
            Files.deleteIfExists(tmp);
            throw e;
        }
    }

    /** Writes {@code bytes} to a new {@code file} (which must not exist) and forces it to disk; no rename. */
    public static void writeDurably(Path file, byte[] bytes) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            ByteBuffer b = ByteBuffer.wrap(bytes);
            while (b.hasRemaining()) {
                ch.write(b);
            }
            ch.force(true);
        }
    }

    /** Renames {@code from} to {@code to}, replacing it, atomically where the file system can. */
    public static void move(Path from, Path to) throws IOException {
        try {
            Files.move(from, to, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(from, to, StandardCopyOption.REPLACE_EXISTING);
        }
    }

    /** Forces the contents and metadata of the regular file {@code file} to the storage device. */
    public static void fsync(Path file) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
            ch.force(true);
        }
    }

    /**
     * Forces a directory's entries (creations, renames, deletions) to the storage device. Linux allows this through
     * a read-only channel; platforms that do not (Windows) get no guarantee beyond what their rename gives.
     */
    public static void fsyncDirectory(Path dir) throws IOException {
        try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
            ch.force(true);
        } catch (IOException e) {
            if (Files.isDirectory(dir) && System.getProperty("os.name", "").startsWith("Windows")) {
                return;
            }
            throw e;
        }
    }

    /** Deletes {@code p} and, if it is a directory, everything under it; a missing {@code p} is not an error. */
    public static void deleteRecursively(Path p) throws IOException {
        if (!Files.exists(p, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        if (Files.isDirectory(p, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            try (Stream<Path> s = Files.walk(p)) {
                for (Path q : s.sorted(Comparator.reverseOrder()).toList()) {
                    try {
                        Files.deleteIfExists(q);
                    } catch (DirectoryNotEmptyException | NoSuchFileException ignored) {
                        // raced with another delete of the same tree: the outer delete reports what remains
                    }
                }
            }
        }
        Files.deleteIfExists(p);
    }
}
