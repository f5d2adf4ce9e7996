package dev.sixpd.nn.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CorpusTest {
    @TempDir
    Path dir;

    @Test
    void readsUtf8Files() throws IOException {
        Path f = dir.resolve("t.txt");
        Files.writeString(f, "héllo wörld 😀\n", StandardCharsets.UTF_8);
        Corpus c = Corpus.fromFile(f);
        assertEquals("héllo wörld 😀\n", c.text());
        assertEquals("t.txt", c.name());
    }

    @Test
    void missingEmptyAndBadFilesNameTheFileAndTheFix() throws IOException {
        Path missing = dir.resolve("nope.txt");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Corpus.fromFile(missing));
        assertTrue(e.getMessage().contains("nope.txt") && e.getMessage().contains("does not exist")
                && e.getMessage().contains("--data"), e.getMessage());
        Path empty = Files.createFile(dir.resolve("empty.txt"));
        e = assertThrows(IllegalArgumentException.class, () -> Corpus.fromFile(empty));
        assertTrue(e.getMessage().contains("empty.txt") && e.getMessage().contains("empty"), e.getMessage());
        Path blank = Files.writeString(dir.resolve("blank.txt"), " \n\n");
        e = assertThrows(IllegalArgumentException.class, () -> Corpus.fromFile(blank));
        assertTrue(e.getMessage().contains("whitespace"), e.getMessage());
        Path latin1 = Files.write(dir.resolve("latin1.txt"), new byte[] {'a', 'b', (byte) 0xE9, 'c'});
        e = assertThrows(IllegalArgumentException.class, () -> Corpus.fromFile(latin1));
        assertTrue(e.getMessage().contains("latin1.txt") && e.getMessage().contains("UTF-8")
                && e.getMessage().contains("offset 2"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Corpus.fromFile(dir));
        assertTrue(e.getMessage().contains("directory"), e.getMessage());
    }

    private Path zip(String... nameAndContent) throws IOException {
        Path z = dir.resolve("src.zip");
        try (ZipOutputStream out = new ZipOutputStream(Files.newOutputStream(z))) {
            for (int i = 0; i < nameAndContent.length; i += 2) {
                out.putNextEntry(new ZipEntry(nameAndContent[i]));
                OutputStream o = out;
                o.write(nameAndContent[i + 1].getBytes(StandardCharsets.UTF_8));
                out.closeEntry();
            }
        }
        return z;
    }

    @Test
    void defaultCorpusTakesJavaUtilSourcesInNameOrder() throws IOException {
        Path z = zip("java.base/java/util/Zeta.java", "class Zeta {}",
                "java.base/java/lang/Object.java", "class Object {}",
                "java.base/java/util/Alpha.java", "class Alpha {}",
                "java.base/java/util/concurrent/Beta.java", "class Beta {}",
                "java.base/java/util/notes.txt", "not java");
        Corpus c = Corpus.javaBase(z);
        assertEquals("class Alpha {}\nclass Zeta {}\nclass Beta {}\n", c.text());
        assertTrue(c.description().contains("3 files"), c.description());
    }

    @Test
    void missingSrcZipSaysToPassData() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Corpus.javaBase(dir.resolve("lib/src.zip")));
        assertTrue(e.getMessage().contains("src.zip") && e.getMessage().contains("--data"), e.getMessage());
    }

    @Test
    void realDefaultCorpusIsCappedAndStable() {
        Assumptions.assumeTrue(Files.isRegularFile(Corpus.defaultSrcZip()), "no src.zip in this JDK");
        Corpus c = Corpus.javaBase();
        long bytes = c.utf8Bytes();
        assertTrue(bytes <= Corpus.DEFAULT_CAP_BYTES && bytes > Corpus.DEFAULT_CAP_BYTES / 2, "bytes " + bytes);
        assertTrue(c.text().startsWith("/*"), c.text().substring(0, 20));
        assertTrue(c.text().contains("public abstract class AbstractCollection<E>"));
    }

    @Test
    void markovCorpusDescribesItsFloor() {
        Corpus c = Corpus.markov(MarkovSource.standard(), 1000, 5);
        assertEquals(1000, c.text().length());
        assertTrue(c.description().contains("entropy rate"), c.description());
    }
}
