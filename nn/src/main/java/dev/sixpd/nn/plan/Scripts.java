package dev.sixpd.nn.plan;

import java.util.Locale;

/**
 * UTF-8 bytes per character by writing system, to turn a dataset size in characters into bytes: U+0000–U+007F
 * (ASCII: English, code) take 1 byte, U+0080–U+07FF 2 (Latin accents, Greek, Cyrillic, Armenian, Hebrew, Arabic),
 * U+0800–U+FFFF 3 (Devanagari, Thai, Chinese, Japanese, Korean), above 4 (emoji, rare CJK). Chinese is 3 bytes per
 * character in UTF-8; the 2 often quoted is UTF-16 or GBK. Stateless.
 */
public final class Scripts {
    private Scripts() {
    }

    /**
     * Bytes per character for a script name: {@code ascii}, {@code latin}, {@code english}, {@code code} → 1;
     * {@code greek}, {@code cyrillic}, {@code russian}, {@code hebrew}, {@code arabic} → 2; {@code cjk},
     * {@code chinese}, {@code japanese}, {@code korean}, {@code hindi}, {@code thai} → 3; {@code emoji} → 4.
     *
     * @throws IllegalArgumentException for another name, listing these
     */
    public static int bytesPerChar(String script) {
        return switch (script == null ? "" : script.trim().toLowerCase(Locale.ROOT)) {
            case "ascii", "latin", "english", "code" -> 1;
            case "greek", "cyrillic", "russian", "hebrew", "arabic" -> 2;
            case "cjk", "chinese", "japanese", "korean", "hindi", "thai" -> 3;
            case "emoji" -> 4;
            default -> throw new IllegalArgumentException("--script must be ascii|latin|english|code (1 byte/char), "
                    + "greek|cyrillic|russian|hebrew|arabic (2), cjk|chinese|japanese|korean|hindi|thai (3) or emoji"
                    + " (4), got '" + script + "'; or give --bytes-per-char");
        };
    }
}
