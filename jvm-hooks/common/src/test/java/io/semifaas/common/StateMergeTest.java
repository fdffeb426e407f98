package io.semifaas.common;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;

import java.time.LocalDate;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class StateMergeTest {
  static class Item {
    Long id;
    String name;
    LocalDate due;
    final String kind = "item";
  }

  static class Order {
    Long id;
    int version;
    Item main;
    Item extra;
    List<Item> items = new ArrayList<>();
    List<String> tags = List.of("a");
  }

  private static Item item(Long id, String name) {
    Item item = new Item();
    item.id = id;
    item.name = name;
    return item;
  }

  @Test
  void valuesAreReplacedAndObjectsKeepTheirIdentity() {
    Order mine = new Order();
    Item main = item(null, "book");
    Item line = item(null, "line");
    mine.main = main;
    mine.items.add(line);

    Order theirs = new Order();
    theirs.id = 7L;
    theirs.version = 2;
    theirs.main = item(70L, "book");
    theirs.main.due = LocalDate.of(2026, 12, 1);
    theirs.extra = item(71L, "gift");
    theirs.items.add(item(72L, "line"));
    theirs.tags = List.of("a", "b");

    StateMerge.merge(mine, theirs);
    assertEquals(7L, mine.id);
    assertEquals(2, mine.version);
    assertSame(main, mine.main, "a nested object is merged into, not replaced");
    assertEquals(70L, main.id);
    assertEquals(LocalDate.of(2026, 12, 1), main.due);
    assertSame(theirs.extra, mine.extra, "a field that was null takes the server's object");
    assertSame(line, mine.items.get(0));
    assertEquals(72L, line.id);
    assertEquals(List.of("a", "b"), mine.tags, "an immutable list in a field is replaced");
  }

  @Test
  void listsTakeTheServersLength() {
    Order mine = new Order();
    Item one = item(null, "one");
    mine.items.add(one);
    Order theirs = new Order();
    theirs.items.add(item(1L, "one"));
    theirs.items.add(item(2L, "two"));
    List<Item> items = mine.items;
    StateMerge.merge(mine, theirs);
    assertSame(items, mine.items, "a mutable list changes in place");
    assertEquals(2, mine.items.size());
    assertSame(one, mine.items.get(0));
    assertEquals(1L, one.id);
    assertEquals(2L, mine.items.get(1).id, "the server's new element is appended");

    Order shorter = new Order();
    StateMerge.merge(mine, shorter);
    assertEquals(0, mine.items.size());
  }

  @Test
  void cyclesAndDifferentClassesEndTheMerge() {
    Order mine = new Order();
    mine.main = item(null, "x");
    Order theirs = new Order();
    theirs.id = 1L;
    theirs.main = item(5L, "x");
    StateMerge.merge(mine, mine);
    StateMerge.merge(mine, "not an order");
    assertNull(mine.id);
    StateMerge.merge(mine, theirs);
    assertEquals(5L, mine.main.id);
  }
}
