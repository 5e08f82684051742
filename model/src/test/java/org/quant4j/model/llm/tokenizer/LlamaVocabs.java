package org.quant4j.model.llm.tokenizer;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.quant4j.model.data.CacheDirectory;
import org.quant4j.model.data.MissingDataException;

/**
 * llama.cpp's tokenizer vocabularies and test vectors as the build caches them (scripts/fetch-llama-vocab.sh):
 * {@code ggml-vocab-<name>.gguf} with {@code .gguf.inp} / {@code .gguf.out}, read as llama.cpp's
 * {@code tests/test-tokenizer-0.cpp} ({@code read_tests}) reads them: inputs separated by the line
 * {@code __ggml_vocab_test__}, one output line of space-separated token ids per input.
 */
final class LlamaVocabs {
    static final String DIR_PROPERTY = "quant4j.llama-vocab.dir";
    static final String DIR_ENV = "QUANT4J_LLAMA_VOCAB_DIR";
    private static final String SEPARATOR = "\n__ggml_vocab_test__\n";
    private static final Map<String, LlamaTokenizer> LOADED = new ConcurrentHashMap<>();

    /** One test of a vocabulary: the input text and the ids llama.cpp gives it. */
    record Case(int index, String text, int[] ids) {
        @Override
        public String toString() {
            return "#" + index + " '" + text.replace("\n", "\\n").replace("\t", "\\t") + "'";
        }
    }

    private LlamaVocabs() {}

    static Path directory() {
        return CacheDirectory.resolve(DIR_PROPERTY, DIR_ENV, "llama-vocab");
    }

    static Path gguf(String vocab) {
        Path file = directory().resolve("ggml-vocab-" + vocab + ".gguf");
        if (!Files.isRegularFile(file)) {
            throw new MissingDataException(file + " is missing; fetch the vocabularies with scripts/fetch-llama-vocab.sh "
                    + directory() + " (the Maven build of module model does it when ~/.cache/quant4j/llama-vocab is missing)");
        }
        return file;
    }

    static LlamaTokenizer tokenizer(String vocab) {
        return LOADED.computeIfAbsent(vocab, v -> {
            try {
                return LlamaTokenizer.read(gguf(v));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        });
    }

    static List<Case> cases(String vocab) throws IOException {
        Path gguf = gguf(vocab);
        String inp = Files.readString(Path.of(gguf + ".inp"), StandardCharsets.UTF_8);
        List<String> out = Files.readAllLines(Path.of(gguf + ".out"), StandardCharsets.UTF_8);
        List<String> inputs = new ArrayList<>();
        int pos = 0;
        while (pos < inp.length()) {
            int next = inp.indexOf(SEPARATOR, pos);
            if (next < 0) {
                inputs.add(inp.substring(pos));
                break;
            }
            inputs.add(inp.substring(pos, next));
            pos = next + SEPARATOR.length();
        }
        if (inputs.size() != out.size()) {
            throw new IllegalStateException(gguf + ": " + inputs.size() + " inputs but " + out.size() + " outputs");
        }
        List<Case> cases = new ArrayList<>();
        for (int i = 0; i < inputs.size(); i++) {
            String line = out.get(i).strip();
            int[] ids = line.isEmpty() ? new int[0] : Arrays.stream(line.split(" ")).mapToInt(Integer::parseInt).toArray();
            cases.add(new Case(i, inputs.get(i), ids));
        }
        return cases;
    }
}
