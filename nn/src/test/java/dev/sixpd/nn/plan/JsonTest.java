package dev.sixpd.nn.plan;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class JsonTest {
    @Test
    void escapesAndNestsAndWritesNonFiniteAsNull() {
        String s = new Json().beginObject().field("q", "a \"quoted\" \\ line\nnext\t\u0001")
                .field("n", 6e19).field("i", 42).field("f", 0.4).field("nan", Double.NaN).field("b", true)
                .key("arr").beginArray().value(1).value("x").beginObject().endObject().endArray().endObject()
                .toString();
        assertEquals("{\"q\":\"a \\\"quoted\\\" \\\\ line\\nnext\\t\\u0001\",\"n\":6.0E19,\"i\":42,\"f\":0.4,"
                + "\"nan\":null,\"b\":true,\"arr\":[1,\"x\",{}]}", s);
        Map<?, ?> m = (Map<?, ?>) MiniJson.parse(s);
        assertEquals("a \"quoted\" \\ line\nnext\t\u0001", m.get("q"));
        assertEquals(6e19, m.get("n"));
        assertEquals(3, ((List<?>) m.get("arr")).size());
    }
}
