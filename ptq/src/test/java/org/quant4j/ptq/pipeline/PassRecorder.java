package org.quant4j.ptq.pipeline;

import java.util.ArrayList;
import java.util.List;

/** A {@link PtqListener} that records the whole-model pass events as lines ("started P n", "step P x", "finished P"). */
public final class PassRecorder implements PtqListener {
    private final List<String> events = new ArrayList<>();

    @Override
    public void passStarted(String pass, long steps) {
        events.add("started " + pass + " " + steps);
    }

    @Override
    public void passStep(String pass, String what) {
        events.add("step " + pass + " " + what);
    }

    @Override
    public void passFinished(String pass) {
        events.add("finished " + pass);
    }

    public List<String> events() {
        return List.copyOf(events);
    }

    /** The steps of {@code pass}, in order. */
    public List<String> steps(String pass) {
        String prefix = "step " + pass + " ";
        return events.stream().filter(e -> e.startsWith(prefix)).map(e -> e.substring(prefix.length())).toList();
    }
}
