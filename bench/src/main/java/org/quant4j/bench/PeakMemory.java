package org.quant4j.bench;

import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import org.bytedeco.javacpp.Pointer;

/**
 * Samples heap use (MemoryMXBean) and the process's resident memory (JavaCPP's
 * {@link Pointer#physicalBytes()}) every millisecond on a daemon thread, keeping the peaks. ND4J's
 * CPU buffers are allocated natively without JavaCPP's byte accounting ({@link Pointer#totalBytes()}
 * stays near 0), so resident memory is what sees them. Heap use includes not-yet-collected garbage:
 * its peak is an upper bound.
 */
final class PeakMemory implements AutoCloseable {
    private final MemoryMXBean memory = ManagementFactory.getMemoryMXBean();
    private final long heapBefore;
    private final long residentBefore;
    private final Thread sampler;
    private volatile boolean running = true;
    private volatile long peakHeap;
    private volatile long peakResident;

    PeakMemory() {
        heapBefore = heap();
        residentBefore = Pointer.physicalBytes();
        sample();
        sampler = new Thread(() -> {
            while (running) {
                sample();
                try {
                    Thread.sleep(1);
                } catch (InterruptedException e) {
                    return;
                }
            }
        }, "peak-memory");
        sampler.setDaemon(true);
        sampler.start();
    }

    private long heap() {
        return memory.getHeapMemoryUsage().getUsed();
    }

    private void sample() {
        peakHeap = Math.max(peakHeap, heap());
        peakResident = Math.max(peakResident, Pointer.physicalBytes());
    }

    long heapBefore() { return heapBefore; }

    long residentBefore() { return residentBefore; }

    long peakHeap() { return peakHeap; }

    long peakResident() { return peakResident; }

    /** Upper bound of the memory the measured work added: heap growth plus resident growth. */
    long addedUpperBound() {
        return Math.max(0, peakHeap - heapBefore) + Math.max(0, peakResident - residentBefore);
    }

    @Override
    public void close() {
        running = false;
        try {
            sampler.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        sample();
    }
}
