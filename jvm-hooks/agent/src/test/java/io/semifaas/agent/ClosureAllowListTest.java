package io.semifaas.agent;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.example.shop.Gift;
import com.example.shop.Item;
import com.example.shop.Order;
import com.example.shop.OutOfStock;
import com.example.shop.Receipt;
import com.example.shop.ShopController;
import io.semifaas.common.CodecAllowList;
import java.lang.reflect.Method;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** What the server decodes from a closure's function beyond what it sent itself. */
class ClosureAllowListTest {
  /** A handler whose signature names its element types only as type arguments. */
  static Map<String, List<Item>> byCategory(List<? extends Order> orders) {
    return Map.of();
  }

  @Test
  void theSignatureAndTheClassesTheCodeNamesAreDecodable() throws Exception {
    Method buy = ShopController.class.getMethod("buy", Order.class);
    CodecAllowList list =
        ClosureAllowList.of(buy, new CodeSectionCollector().collect(new ShopController(), buy));
    assertTrue(list.allows(Order.class), "a parameter type");
    assertTrue(list.allows(Receipt.class), "the return type");
    assertTrue(list.allows(OutOfStock.class), "an exception the code throws");
    assertFalse(list.allows(Gift.class), "a class of the application the closure never names");
  }

  @Test
  void typeArgumentsOfTheSignatureAreDecodable() throws Exception {
    Method method = getClass().getDeclaredMethod("byCategory", List.class);
    CodecAllowList list = ClosureAllowList.of(method, new CodeSection(List.of(), List.of()));
    assertTrue(list.allows(Item.class), "a return type's type argument");
    assertTrue(list.allows(Order[].class), "a wildcard's bound, and arrays of it");
    assertFalse(list.allows(Receipt.class));
  }
}
