package io.semifaas.common;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/** The registered {@link Packageable}s; {@link RequestSnapshot}'s is always there. */
public final class Packageables {
  private static final List<Packageable> REGISTERED =
      new CopyOnWriteArrayList<>(List.of(new RequestSnapshot.Packer()));

  private Packageables() {}

  public static void register(Packageable packageable) {
    REGISTERED.add(0, packageable);
  }

  /** The packageable that packs instances of {@code type}, or null. */
  public static Packageable packerFor(Class<?> type) {
    for (Packageable p : REGISTERED) {
      if (p.packs(type)) {
        return p;
      }
    }
    return null;
  }

  /** {@code packed} unpacked for the function, or unchanged when it is no stand-in. */
  public static Object unpack(Object packed, ClassLoader loader) {
    for (Packageable p : REGISTERED) {
      if (p.unpacks(packed)) {
        return p.unpack(packed, loader);
      }
    }
    return packed;
  }
}
