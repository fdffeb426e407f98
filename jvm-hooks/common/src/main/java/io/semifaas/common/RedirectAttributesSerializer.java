package io.semifaas.common;

import com.esotericsoftware.kryo.Kryo;
import com.esotericsoftware.kryo.KryoException;
import com.esotericsoftware.kryo.Serializer;
import com.esotericsoftware.kryo.io.Input;
import com.esotericsoftware.kryo.io.Output;
import java.lang.reflect.Method;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Spring's {@code RedirectAttributesModelMap}: a map (the redirect's query attributes) with its
 * flash attributes in a field beside it, which a map serializer would drop. Both cross; its data
 * binder (which only formats values as they are added, and holds the whole request's binding
 * state) does not.
 */
final class RedirectAttributesSerializer extends Serializer<Map<Object, Object>> {
  static final String TYPE = "org.springframework.web.servlet.mvc.support.RedirectAttributesModelMap";

  /** True for the model map and its subclasses. */
  static boolean handles(Class<?> type) {
    for (Class<?> c = type; c != null; c = c.getSuperclass()) {
      if (c.getName().equals(TYPE)) {
        return true;
      }
    }
    return false;
  }

  @Override
  public void write(Kryo kryo, Output output, Map<Object, Object> map) {
    kryo.writeObject(output, new LinkedHashMap<>(map));
    kryo.writeObject(output, new LinkedHashMap<>(flash(map)));
  }

  @Override
  @SuppressWarnings("unchecked")
  public Map<Object, Object> read(Kryo kryo, Input input, Class<? extends Map<Object, Object>> type) {
    Map<Object, Object> map;
    try {
      map = type.getDeclaredConstructor().newInstance();
    } catch (ReflectiveOperationException | RuntimeException e) {
      throw new KryoException("cannot create " + type.getName() + ": " + e, e);
    }
    kryo.reference(map);
    map.putAll(kryo.readObject(input, LinkedHashMap.class));
    flash(map).putAll(kryo.readObject(input, LinkedHashMap.class));
    return map;
  }

  @SuppressWarnings("unchecked")
  private static Map<Object, Object> flash(Map<Object, Object> map) {
    try {
      Method getter = map.getClass().getMethod("getFlashAttributes");
      return (Map<Object, Object>) getter.invoke(map);
    } catch (ReflectiveOperationException | RuntimeException e) {
      throw new KryoException("cannot reach the flash attributes of " + map.getClass().getName(), e);
    }
  }
}
