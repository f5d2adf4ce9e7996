package dev.sixpd.nn.plan;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The planner's answer: an ordered list of {@link Line}s grouped by section, each naming its formula, rendered as a
 * text table ({@link #text()}) or JSON ({@link #json()}). Immutable and thread-safe.
 */
public record PlanReport(List<Line> lines) {
    /** Thread-safe once configured (Jackson's contract); shared by all reports. */
    private static final ObjectMapper MAPPER = new ObjectMapper();

    /**
     * One output.
     *
     * @param key a stable identifier for machines and tests, e.g. {@code compute.flops}, {@code memory.zero3}
     * @param section the group, e.g. "compute"
     * @param label what it is, e.g. "training FLOPs"
     * @param value the value in {@code unit} (base units: FLOPs, s, B, USD, kWh, tokens...); NaN when it cannot be
     *        computed from the inputs (then {@code note} says what to give)
     * @param unit the unit of {@code value}
     * @param formula the formula with its numbers and result, e.g. {@code 6·P·D = 6 × 1e9 × 1e10 = 6.00e19 FLOPs}
     * @param display the value for people, e.g. {@code 14.0 GB}
     * @param note an explanation or warning, or "" for none
     */
    public record Line(String key, String section, String label, double value, String unit, String formula,
            String display, String note) {
    }

    public PlanReport {
        lines = List.copyOf(lines);
    }

    /** The line with this key. */
    public Optional<Line> find(String key) {
        return lines.stream().filter(l -> l.key.equals(key)).findFirst();
    }

    /** The line with this key; throws {@link IllegalArgumentException} naming the known keys if absent. */
    public Line get(String key) {
        return find(key).orElseThrow(() -> new IllegalArgumentException("no line '" + key + "' in the plan; keys: "
                + String.join(", ", lines.stream().map(Line::key).toList())));
    }

    /** The value of the line with this key. */
    public double value(String key) {
        return get(key).value;
    }

    /**
     * A text table: one block per section, each line {@code label  display  formula}, notes beneath the formula
     * after {@code ↳}.
     */
    public String text() {
        int labelWidth = 0;
        int displayWidth = 0;
        for (Line l : lines) {
            labelWidth = Math.max(labelWidth, l.label.length());
            displayWidth = Math.max(displayWidth, l.display.length());
        }
        Map<String, List<Line>> bySection = new LinkedHashMap<>();
        for (Line l : lines) {
            bySection.computeIfAbsent(l.section, s -> new ArrayList<>()).add(l);
        }
        StringBuilder sb = new StringBuilder();
        for (Map.Entry<String, List<Line>> e : bySection.entrySet()) {
            if (!sb.isEmpty()) {
                sb.append('\n');
            }
            sb.append(e.getKey()).append('\n');
            for (Line l : e.getValue()) {
                sb.append("  ").append(pad(l.label, labelWidth)).append("  ")
                        .append(padLeft(l.display, displayWidth)).append("   ").append(l.formula).append('\n');
                if (!l.note.isEmpty()) {
                    sb.append("  ").append(" ".repeat(labelWidth + displayWidth + 5)).append("↳ ").append(l.note)
                            .append('\n');
                }
            }
        }
        return sb.toString();
    }

    /**
     * JSON: {@code {"lines":[{"key":..., "section":..., "label":..., "value":..., "unit":..., "formula":...,
     * "display":..., "note":...}, ...]}}, written by Jackson; values that cannot be computed are {@code null}, whole
     * values below 10¹⁵ are written as integers.
     */
    public String json() {
        ObjectNode root = MAPPER.createObjectNode();
        ArrayNode arr = root.putArray("lines");
        for (Line l : lines) {
            ObjectNode o = arr.addObject();
            o.put("key", l.key).put("section", l.section).put("label", l.label);
            if (!Double.isFinite(l.value)) {
                o.putNull("value");
            } else if (l.value == Math.rint(l.value) && Math.abs(l.value) < 1e15) {
                o.put("value", (long) l.value);
            } else {
                o.put("value", l.value);
            }
            o.put("unit", l.unit).put("formula", l.formula).put("display", l.display).put("note", l.note);
        }
        try {
            return MAPPER.writeValueAsString(root);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("a tree of strings and numbers must serialise", e);
        }
    }

    private static String pad(String s, int w) {
        return s.length() >= w ? s : s + " ".repeat(w - s.length());
    }

    private static String padLeft(String s, int w) {
        return s.length() >= w ? s : " ".repeat(w - s.length()) + s;
    }
}
