package io.semifaas.common;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.hibernate.collection.spi.PersistentCollection;
import org.hibernate.proxy.HibernateProxy;
import org.hibernate.proxy.LazyInitializer;
import org.junit.jupiter.api.Test;

class LazyDataTest {
  public static class Member {
    Long id;
    String name;
    List<Loan> loans = new ArrayList<>();
  }

  public static class Loan {
    Long id;
    Member member;
  }

  /** What Hibernate's generated proxy is: a subclass of the entity. */
  public static class MemberProxy extends Member implements HibernateProxy {
    final Member target;
    final boolean loaded;

    MemberProxy(Member target, boolean loaded) {
      this.target = target;
      this.loaded = loaded;
    }

    @Override
    public LazyInitializer getHibernateLazyInitializer() {
      return new LazyInitializer() {
        @Override
        public boolean isUninitialized() {
          return !loaded;
        }

        @Override
        public Object getImplementation() {
          return target;
        }
      };
    }
  }

  /** What a persistent bag is: a list that knows whether it was loaded. */
  public static class Bag<T> extends ArrayList<T> implements PersistentCollection {
    private static final long serialVersionUID = 1L;
    final boolean loaded;

    Bag(boolean loaded) {
      this.loaded = loaded;
    }

    @Override
    public boolean wasInitialized() {
      return loaded;
    }
  }

  private static Object roundTrip(Object value, ExportScope scope) throws CodecException {
    return ObjectCodec.deserialize(ObjectCodec.serialize(value, scope), null, scope);
  }

  @Test
  void initializedLazyDataCrossesAsWhatItHolds() throws Exception {
    Member alice = new Member();
    alice.name = "alice";
    Bag<Loan> loans = new Bag<>(true);
    Loan loan = new Loan();
    loan.member = new MemberProxy(alice, true);
    loans.add(loan);
    alice.loans = loans;
    Object[] decoded = (Object[]) roundTrip(new Object[] {alice}, new ExportScope(null));
    Member copy = (Member) decoded[0];
    assertInstanceOf(ArrayList.class, copy.loans);
    assertEquals(ArrayList.class, copy.loans.getClass(), "a plain list, not the bag");
    assertEquals(Member.class, copy.loans.get(0).member.getClass(), "the entity, not its proxy");
  }

  @Test
  void uninitializedLazyDataCrossesAsLazyReferences() throws Exception {
    Member bob = new Member();
    bob.loans = new Bag<>(false);
    Loan loan = new Loan();
    MemberProxy proxy = new MemberProxy(bob, false);
    loan.member = proxy;
    ExportScope scope = new ExportScope(null);
    List<RemoteRef> refs = new ArrayList<>();
    CodecHooks function =
        new CodecHooks() {
          @Override
          public Class<?> substituteClass(Class<?> type) {
            return null;
          }

          @Override
          public Object substitute(Object value) {
            return value;
          }

          @Override
          public Object onRead(Object value) {
            if (value instanceof LazyData.Value lazy) {
              refs.add(lazy.ref());
              return lazy.value();
            }
            return value;
          }
        };
    ObjectCodec.deserialize(
        ObjectCodec.serialize(new Object[] {loan, bob}, scope), null, function);
    assertEquals(2, refs.size(), refs.toString());
    RemoteRef member = refs.get(0);
    assertTrue(member.lazy());
    assertEquals(Member.class.getName(), member.className(), "presented as the entity");
    assertSame(proxy, scope.resolve(member.id()), "the server resolves it to its proxy");
    RemoteRef loans = refs.get(1);
    assertTrue(loans.lazy());
    assertEquals("java.util.List", loans.className());
  }

  @Test
  void materializingLoadsTheValue() {
    Member carol = new Member();
    assertSame(carol, LazyData.materialize(new MemberProxy(carol, false)));
    Bag<String> bag = new Bag<>(false);
    bag.add("x");
    Object copy = LazyData.materialize(bag);
    assertEquals(ArrayList.class, copy.getClass());
    assertEquals(List.of("x"), copy);
  }
}
