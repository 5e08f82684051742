package org.quant4j.core.io;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.Arrays;
import java.util.List;
import java.util.zip.CRC32;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.Size;

class CrcHoldBackOutputStreamTest {
    /** Whatever the chunking, all but the last k bytes pass, with their CRC32, and the last k are held. */
    @Property(tries = 300)
    void passesAllButTheLastBytesAndChecksumsWhatItPasses(@ForAll @Size(max = 12) List<@Size(max = 20) byte[]> chunks,
                                                          @ForAll @IntRange(min = 1, max = 9) int holdBack) throws IOException {
        ByteArrayOutputStream passed = new ByteArrayOutputStream();
        ByteArrayOutputStream all = new ByteArrayOutputStream();
        CrcHoldBackOutputStream out = new CrcHoldBackOutputStream(passed, holdBack);
        for (byte[] chunk : chunks) {
            if (chunk.length == 1) {
                out.write(chunk[0]);
            } else {
                out.write(chunk, 0, chunk.length);
            }
            all.write(chunk);
        }
        byte[] written = all.toByteArray();
        int kept = Math.min(holdBack, written.length);
        assertThat(passed.toByteArray()).isEqualTo(Arrays.copyOf(written, written.length - kept));
        assertThat(out.heldBytes()).isEqualTo(Arrays.copyOfRange(written, written.length - kept, written.length));
        CRC32 crc = new CRC32();
        crc.update(passed.toByteArray());
        assertThat(out.crc32()).isEqualTo(crc.getValue());
    }
}
