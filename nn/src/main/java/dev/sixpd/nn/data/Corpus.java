package dev.sixpd.nn.data;

import dev.sixpd.nn.Limits;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.MalformedInputException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Enumeration;
import java.util.List;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;

/**
 * A training text: its content and a one-line description of where it came from.
 *
 * <p>Sources:
 * <ul>
 *   <li>{@link #fromFile}: any UTF-8 file ({@code --data FILE});
 *   <li>{@link #javaBase()}: the default — Java sources that every JDK 25 ships in {@code $JAVA_HOME/lib/src.zip}:
 *       the entries under {@value #DEFAULT_PREFIX} ending in {@code .java}, in ascending order of entry name
 *       ({@link String#compareTo}), whole files concatenated while the total stays within
 *       {@value #DEFAULT_CAP_BYTES} bytes (the first file that would exceed the cap and all after it are left
 *       out), each followed by one {@code '\n'}. With the name order, that is the top-level classes of
 *       {@code java.util} from {@code AbstractCollection} on (upper-case names sort before the sub-packages);
 *   <li>{@link #markov}: text drawn from a seeded {@link MarkovSource}, whose entropy rate is known exactly.
 * </ul>
 *
 * @param name        short name for logs, e.g. the file name or {@code java.base}
 * @param text        the content
 * @param description where it came from and how much, for logs and the checkpoint
 */
public record Corpus(String name, String text, String description) {
    /** The src.zip entry prefix of the default corpus. */
    public static final String DEFAULT_PREFIX = "java.base/java/util/";
    /** The byte cap of the default corpus: 2 MiB. */
    public static final int DEFAULT_CAP_BYTES = 2 * 1024 * 1024;

    /** Reads a UTF-8 file; a missing, unreadable, empty or non-UTF-8 file is an error saying which and what to do. */
    public static Corpus fromFile(Path file) {
        Limits.checkDataFile(file);
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            throw new IllegalArgumentException("data file " + file.toAbsolutePath() + " does not exist: pass"
                    + " --data with the path of a UTF-8 text file, or leave --data out to use the default corpus");
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot read data file " + file.toAbsolutePath() + ": " + e
                    + (Files.isDirectory(file) ? " (it is a directory; pass a text file)" : ""));
        }
        if (bytes.length == 0) {
            throw new IllegalArgumentException("data file " + file.toAbsolutePath() + " is empty: pass --data with a"
                    + " file that holds text to train on");
        }
        String text = decodeUtf8(bytes, file.toAbsolutePath().toString());
        if (text.codePoints().allMatch(Character::isWhitespace)) {
            throw new IllegalArgumentException("data file " + file.toAbsolutePath() + " holds only whitespace: pass"
                    + " --data with a file that holds text to train on");
        }
        return new Corpus(file.getFileName().toString(), text,
                String.format("%s (%,d bytes, %,d characters)", file.toAbsolutePath(), bytes.length,
                        text.codePointCount(0, text.length())));
    }

    /** Strict UTF-8 decoding: malformed input is an error naming the source and the byte offset. */
    static String decodeUtf8(byte[] bytes, String source) {
        try {
            return StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(bytes)).toString();
        } catch (MalformedInputException e) {
            int at = firstBadUtf8(bytes);
            throw new IllegalArgumentException(source + " is not valid UTF-8 (bad byte sequence at byte offset " + at
                    + "): convert it to UTF-8, e.g. iconv -f LATIN1 -t UTF-8");
        } catch (CharacterCodingException e) {
            throw new IllegalArgumentException(source + " is not valid UTF-8: " + e);
        }
    }

    private static int firstBadUtf8(byte[] bytes) {
        var dec = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT);
        ByteBuffer in = ByteBuffer.wrap(bytes);
        var out = java.nio.CharBuffer.allocate(bytes.length + 1);
        var r = dec.decode(in, out, true);
        return r.isError() ? in.position() : -1;
    }

    /** The default corpus from the running JDK's {@code lib/src.zip} (see the class comment). */
    public static Corpus javaBase() {
        return javaBase(defaultSrcZip());
    }

    /** {@code $java.home/lib/src.zip}, else {@code $JAVA_HOME/lib/src.zip} if that exists. */
    public static Path defaultSrcZip() {
        Path p = Path.of(System.getProperty("java.home"), "lib", "src.zip");
        String env = System.getenv("JAVA_HOME");
        if (!Files.exists(p) && env != null && Files.exists(Path.of(env, "lib", "src.zip"))) {
            return Path.of(env, "lib", "src.zip");
        }
        return p;
    }

    /** The default corpus from the given src.zip (see the class comment). */
    public static Corpus javaBase(Path srcZip) {
        if (!Files.isRegularFile(srcZip)) {
            throw new IllegalArgumentException("the default corpus needs the JDK's Java sources, but " + srcZip
                    + " does not exist (Eclipse Temurin ships it; Debian's"
                    + " openjdk packages put it in the separate openjdk-<version>-source package); pass --data FILE with any UTF-8 text file instead");
        }
        try (ZipFile zip = new ZipFile(srcZip.toFile())) {
            List<ZipEntry> entries = new ArrayList<>();
            for (Enumeration<? extends ZipEntry> en = zip.entries(); en.hasMoreElements(); ) {
                ZipEntry e = en.nextElement();
                if (!e.isDirectory() && e.getName().startsWith(DEFAULT_PREFIX) && e.getName().endsWith(".java")) {
                    entries.add(e);
                }
            }
            entries.sort((x, y) -> x.getName().compareTo(y.getName()));
            if (entries.isEmpty()) {
                throw new IllegalArgumentException(srcZip + " has no " + DEFAULT_PREFIX + "*.java entries; pass --data"
                        + " FILE with any UTF-8 text file instead");
            }
            StringBuilder text = new StringBuilder();
            long total = 0;
            int files = 0;
            for (ZipEntry e : entries) {
                byte[] b;
                try (InputStream in = zip.getInputStream(e)) {
                    b = in.readAllBytes();
                }
                if (total + b.length + 1 > DEFAULT_CAP_BYTES) {
                    break;
                }
                text.append(decodeUtf8(b, srcZip + "!" + e.getName())).append('\n');
                total += b.length + 1;
                files++;
            }
            if (files == 0) {
                throw new IllegalArgumentException("the first source file in " + srcZip + " is larger than the "
                        + DEFAULT_CAP_BYTES + "-byte cap; pass --data FILE instead");
            }
            String last = entries.get(files - 1).getName();
            return new Corpus("java.base", text.toString(), String.format(
                    "%s: %d files %s*.java in name order, %s .. %s, %,d bytes (cap %,d)", srcZip, files,
                    DEFAULT_PREFIX, entries.get(0).getName().substring(DEFAULT_PREFIX.length()),
                    last.substring(DEFAULT_PREFIX.length()), total, DEFAULT_CAP_BYTES));
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot read " + srcZip + ": " + e + "; pass --data FILE instead");
        }
    }

    /** {@code length} characters drawn from {@code source} with the given seed (see {@link MarkovSource#text}). */
    public static Corpus markov(MarkovSource source, int length, long seed) {
        Limits.checkCorpus(length, "--synthetic " + length);
        return new Corpus("markov", source.text(length, seed), String.format(
                "synthetic order-1 Markov source, %d symbols, %,d characters, seed %d, entropy rate %.6f nats/token",
                source.alphabetSize(), length, seed, source.entropyRate()));
    }

    /** Size of the text in UTF-8 bytes. */
    public long utf8Bytes() {
        return text.getBytes(StandardCharsets.UTF_8).length;
    }
}
