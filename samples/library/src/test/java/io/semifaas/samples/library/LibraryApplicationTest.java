package io.semifaas.samples.library;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.semifaas.samples.library.LibraryClient.Reply;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.boot.test.context.SpringBootTest;

/**
 * Browser sessions over real HTTP against the running application. The scripted session is the
 * only test that writes, and its checks are relative to the dump it takes first, so test order is
 * free. The port is read from {@code local.server.port}, which both Spring Boot 3 and 4 set.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
class LibraryApplicationTest {

  private static final String TODAY = "2025-03-03";
  private static final String DUE = "2025-03-17";
  private static final Pattern BOOK_PATH = Pattern.compile("/books/(\\d+)");

  @Value("${local.server.port}")
  private int port;

  @Test
  void healthSaysOkOnceSeeded() {
    Reply health = new LibraryClient(port).get("/health");
    assertThat(health.status()).isEqualTo(200);
    assertThat(health.body()).isEqualTo("ok");
  }

  @Test
  void seededCatalogueIsListedByTitle() {
    JsonNode books = new LibraryClient(port).api("/api/books").json();
    List<String> titles = new ArrayList<>();
    books.forEach(b -> titles.add(b.get("title").asText()));
    assertThat(titles).hasSizeGreaterThanOrEqualTo(25);
    assertThat(titles.subList(0, 4))
        .containsExactly(
            "A Tale of Two Cities",
            "Adventures of Huckleberry Finn",
            "Around the World in Eighty Days",
            "Bleak House");
    assertThat(titles).isSortedAccordingTo(String::compareTo);
  }

  @Test
  void catalogueSummaryIsComputedTheSameEveryTime() {
    LibraryClient client = new LibraryClient(port);
    Reply first = client.api("/api/catalogue/summary");
    Reply second = client.api("/api/catalogue/summary");
    assertThat(first.status()).isEqualTo(200);
    assertThat(second.body()).isEqualTo(first.body());
    JsonNode summary = first.json();
    assertThat(summary.get("authorDiversity").asText()).matches("\\d\\.\\d{3}");
    JsonNode similar = summary.get("similarTitles").get(0);
    assertThat(similar.get("first").asText()).isEqualTo("The Adventures of Sherlock Holmes");
    assertThat(similar.get("second").asText()).isEqualTo("The Return of Sherlock Holmes");
    assertThat(similar.get("similarity").asText()).isEqualTo("0.82");
  }

  @Test
  void scriptedSession() {
    LibraryClient anonymous = new LibraryClient(port);

    // The state before: seeded members, books and loans.
    assertThat(anonymous.get("/health").body()).isEqualTo("ok");
    JsonNode start = anonymous.api("/api/admin/dump").json();
    long visits0 = start.get("visits").asLong();
    assertThat(start.get("members").size()).isEqualTo(3);
    assertThat(start.get("members").get(0).get("passwordHash").asText())
        .startsWith("{bcrypt}$2a$10$");
    int books0 = start.get("books").size();
    int loans0 = start.get("loans").size();
    long maxBookId = 0;
    for (JsonNode book : start.get("books")) {
      maxBookId = Math.max(maxBookId, book.get("id").asLong());
    }
    long maxLoanId = 0;
    for (JsonNode loan : start.get("loans")) {
      maxLoanId = Math.max(maxLoanId, loan.get("id").asLong());
    }
    Map<String, Long> ids = bookIds(anonymous);
    long pride = ids.get("Pride and Prejudice");
    long emma = ids.get("Emma");

    // Public pages.
    Reply home = anonymous.page("/");
    assertThat(home.status()).isEqualTo(200);
    assertThat(home.contentType()).startsWith("text/html");
    assertThat(home.body()).contains("Welcome to the library").contains(books0 + "</span> books");
    assertThat(home.visits()).isEqualTo(visits0 + 1);

    Reply catalogue = anonymous.page("/books");
    assertThat(catalogue.status()).isEqualTo(200);
    assertThat(catalogue.body())
        .contains("<span class=\"titles\">" + books0 + "</span> titles")
        .contains("The Return of Sherlock Holmes</a>\n        read alike (<span>0.82</span>)")
        .contains("Jane Austen (4)")
        .contains("Charlotte Brontë");
    assertThat(catalogue.body().indexOf("A Tale of Two Cities"))
        .isLessThan(catalogue.body().indexOf("Adventures of Huckleberry Finn"));
    assertThat(catalogue.body()).doesNotContain("Sign out").contains("Sign in");
    // The same page twice: the same bytes but for the page-view count.
    Reply again = anonymous.page("/books");
    assertThat(withoutVisits(again.body())).isEqualTo(withoutVisits(catalogue.body()));
    assertThat(again.visits()).isEqualTo(catalogue.visits() + 1);

    Reply search = anonymous.page("/books?q=AUSTEN");
    assertThat(search.body()).contains("4 of " + books0 + " books match “AUSTEN”");
    assertThat(search.body()).contains("Persuasion").doesNotContain("Moby-Dick");

    Reply pridePage = anonymous.page("/books/" + pride);
    assertThat(pridePage.status()).isEqualTo(200);
    assertThat(pridePage.body())
        .contains("<h1 class=\"title\">Pride and Prejudice</h1>")
        .contains("2 of 3")
        .contains("<td>Bob Baker</td>")
        .contains("to borrow this book");

    // The application's own error pages.
    Reply missingBook = anonymous.page("/books/999999");
    assertThat(missingBook.status()).isEqualTo(404);
    assertThat(missingBook.body())
        .contains("The library has nothing at <code class=\"path\">/books/999999</code>");
    Reply badId = anonymous.page("/books/abc");
    assertThat(badId.status()).isEqualTo(400);
    assertThat(badId.body()).contains("400 Bad Request").contains("was not understood");

    // Pages that need a login send the browser to it.
    Reply unknownAnonymous = anonymous.page("/no-such-page");
    assertThat(unknownAnonymous.status()).isEqualTo(302);
    assertThat(unknownAnonymous.location()).endsWith("/login");
    Reply loansAnonymous = anonymous.page("/my/loans");
    assertThat(loansAnonymous.status()).isEqualTo(302);
    assertThat(loansAnonymous.location()).endsWith("/login");

    // Log in: a wrong password first.
    Reply loginPage = anonymous.page("/login");
    assertThat(loginPage.status()).isEqualTo(200);
    assertThat(anonymous.csrf()).isNotBlank();
    Reply wrong = anonymous.submit("/login", Map.of("username", "alice", "password", "bob"));
    assertThat(wrong.status()).isEqualTo(302);
    assertThat(wrong.location()).endsWith("/login?error");
    assertThat(anonymous.page("/login?error").body()).contains("Wrong username or password.");
    LibraryClient alice = anonymous; // the same browser, now logging in
    Reply login = alice.submit("/login", Map.of("username", "alice", "password", "alice"));
    assertThat(login.status()).isEqualTo(302);
    // Back to the page that asked for the login.
    assertThat(login.location()).endsWith("/my/loans?continue");
    Reply aliceLoans = alice.page("/my/loans?continue");
    assertThat(aliceLoans.status()).isEqualTo(200);
    assertThat(aliceLoans.body())
        .contains("Loans of Alice Archer")
        .contains("You have no books on loan.")
        .contains("Signed in as <span class=\"viewer\">Alice Archer</span>");

    // Add a book: invalid input shows the form again with the problems.
    Reply newForm = alice.page("/books/new", "/books");
    assertThat(newForm.status()).isEqualTo(200);
    assertThat(newForm.body()).contains("<h1>Add a book</h1>").contains("href=\"/books\">Back");
    Reply invalid = alice.submit("/books", form("   ", "Jane Austen", "123", "abc", "0"));
    assertThat(invalid.status()).isEqualTo(200);
    assertThat(invalid.body())
        .contains("Please correct the fields marked below.")
        .contains("Enter a title")
        .contains("An ISBN has 13 digits")
        .contains("Enter a whole number")
        .contains("The library needs at least one copy")
        .contains("value=\"Jane Austen\"")
        .contains("value=\"abc\"");
    Reply checkDigit =
        alice.submit(
            "/books", form("Northanger Abbey", "Jane Austen", "9780000020001", "1817", "2"));
    assertThat(checkDigit.status()).isEqualTo(200);
    assertThat(checkDigit.body()).contains("The ISBN check digit is wrong");
    String prideIsbn = alice.api("/api/books/" + pride).json().get("isbn").asText();
    Reply taken =
        alice.submit("/books", form("Northanger Abbey", "Jane Austen", prideIsbn, "1817", "2"));
    assertThat(taken.body()).contains("Another book already has this ISBN: Pride and Prejudice");

    // Valid input: a redirect to the new book's page, which shows the message once.
    Reply created =
        alice.submit(
            "/books", form("  Northanger Abbey ", " Jane Austen", "9780000020000", "1817", "2"));
    assertThat(created.status()).isEqualTo(302);
    assertThat(created.location()).isEqualTo("/books/" + (maxBookId + 1));
    long northanger = bookId(created.location());
    Reply newBook = alice.page(created.location());
    assertThat(newBook.status()).isEqualTo(200);
    assertThat(newBook.body())
        .contains("<p class=\"message\">Added Northanger Abbey to the catalogue.</p>")
        .contains("<h1 class=\"title\">Northanger Abbey</h1>")
        .contains("Nobody has borrowed this book yet.")
        .contains("Edit this book");
    assertThat(alice.page(created.location()).body()).doesNotContain("Added Northanger Abbey");
    JsonNode json = alice.api("/api/books/" + northanger).json();
    assertThat(json.get("title").asText()).isEqualTo("Northanger Abbey");
    assertThat(json.get("author").asText()).isEqualTo("Jane Austen");
    assertThat(json.get("addedBy").asText()).isEqualTo("alice");
    assertThat(json.get("copies").asInt()).isEqualTo(2);
    assertThat(json.get("loans").size()).isZero();

    // Edit it: the back link is the page the browser came from.
    Reply edit = alice.page("/books/" + northanger + "/edit", "/books?q=austen");
    assertThat(edit.status()).isEqualTo(200);
    assertThat(edit.body())
        .contains("<h1>Edit Northanger Abbey</h1>")
        .contains("value=\"9780000020000\"")
        .contains("href=\"/books?q=austen\">Back");
    Reply badEdit =
        alice.submit(
            "/books/" + northanger + "/edit",
            form("Northanger Abbey", "Jane Austen", "9780000020000", "1200", "99"));
    assertThat(badEdit.status()).isEqualTo(200);
    assertThat(badEdit.body())
        .contains("The year must be 1450 or later")
        .contains("The library keeps at most 20 copies");
    Map<String, String> edited =
        form("Northanger Abbey: A Novel", "Jane Austen", "9780000020000", "1818", "1");
    edited.put("id", "1");
    Reply saved = alice.submit("/books/" + northanger + "/edit", edited);
    assertThat(saved.status()).isEqualTo(302);
    assertThat(saved.location()).isEqualTo("/books/" + northanger);
    assertThat(alice.page(saved.location()).body())
        .contains("Saved the changes to Northanger Abbey: A Novel.")
        .contains("<dd class=\"year\">1818</dd>");
    assertThat(alice.api("/api/books/1").json().get("id").asLong()).isEqualTo(1);

    // Borrow it, twice; and a book with no copy left.
    Reply borrow = alice.submit("/books/" + northanger + "/borrow", Map.of());
    assertThat(borrow.status()).isEqualTo(302);
    assertThat(borrow.location()).isEqualTo("/books/" + northanger);
    Reply borrowed = alice.page(borrow.location());
    assertThat(borrowed.body())
        .contains("You borrowed Northanger Abbey: A Novel. Please bring it back by " + DUE + ".")
        .contains("0 of 1")
        .contains("You have this book, due " + DUE + ".")
        .contains("<td>Alice Archer</td>");
    Reply twice = alice.submit("/books/" + northanger + "/borrow", Map.of());
    assertThat(alice.page(twice.location()).body())
        .contains("<p class=\"problem\">You already have a copy of Northanger Abbey: A Novel.</p>");
    Reply emmaRefused = alice.submit("/books/" + emma + "/borrow", Map.of());
    assertThat(emmaRefused.location()).isEqualTo("/books/" + emma);
    assertThat(alice.page(emmaRefused.location()).body())
        .contains("No copy of Emma is on the shelf.")
        .contains("All copies are out on loan.")
        .contains("class=\"overdue\"");

    // A form without its CSRF token is refused (the error page).
    Reply forged = alice.post("/books/" + pride + "/borrow", Map.of());
    assertThat(forged.status()).isEqualTo(403);
    assertThat(forged.body()).contains("403 Forbidden").contains("You are not allowed to do that.");

    // My loans (the member's lazy collection of loans), then return the book.
    Reply mine = alice.page("/my/loans", "/books/" + northanger);
    assertThat(mine.status()).isEqualTo(200);
    assertThat(mine.body())
        .contains("<span class=\"open\">1</span> on loan")
        .contains("Northanger Abbey: A Novel</a>")
        .contains("href=\"/books/" + northanger + "\">Back");
    long loanId = loanId(mine.body());
    assertThat(loanId).isEqualTo(maxLoanId + 1);
    Reply giveBack = alice.submit("/loans/" + loanId + "/return", Map.of());
    assertThat(giveBack.status()).isEqualTo(302);
    assertThat(giveBack.location()).isEqualTo("/my/loans");
    Reply afterReturn = alice.page("/my/loans");
    assertThat(afterReturn.body())
        .contains("Thank you for returning Northanger Abbey: A Novel.")
        .contains("You have no books on loan.")
        .contains("Northanger Abbey: A Novel: " + TODAY + " to " + TODAY);
    Reply returnAgain = alice.submit("/loans/" + loanId + "/return", Map.of());
    assertThat(alice.page(returnAgain.location()).body())
        .contains("Northanger Abbey: A Novel was already returned.");
    // Somebody else's loan is not found.
    Reply othersLoan = alice.submit("/loans/1/return", Map.of());
    assertThat(othersLoan.status()).isEqualTo(404);
    assertThat(othersLoan.body()).contains("The library has nothing at");
    Reply unknown = alice.page("/no-such-page");
    assertThat(unknown.status()).isEqualTo(404);
    assertThat(unknown.body())
        .contains("The library has nothing at <code class=\"path\">/no-such-page</code>");

    // JSON.
    JsonNode all = alice.api("/api/books").json();
    assertThat(all.size()).isEqualTo(books0 + 1);
    Reply noBook = alice.api("/api/books/999999");
    assertThat(noBook.status()).isEqualTo(404);
    assertThat(noBook.body())
        .isEqualTo("{\"error\":\"not_found\",\"message\":\"no book with id 999999\"}");
    JsonNode northangerJson = alice.api("/api/books/" + northanger).json();
    assertThat(northangerJson.get("timesBorrowed").asInt()).isEqualTo(1);
    assertThat(northangerJson.get("updatedBy").asText()).isEqualTo("alice");
    JsonNode loan = northangerJson.get("loans").get(0);
    assertThat(loan.get("member").asText()).isEqualTo("alice");
    assertThat(loan.get("borrowedOn").asText()).isEqualTo(TODAY);
    assertThat(loan.get("dueOn").asText()).isEqualTo(DUE);
    assertThat(loan.get("returnedOn").asText()).isEqualTo(TODAY);

    // Log out.
    alice.page("/books");
    Reply logout = alice.submit("/logout", Map.of());
    assertThat(logout.status()).isEqualTo(302);
    assertThat(logout.location()).endsWith("/login?logout");
    assertThat(alice.page("/login?logout").body()).contains("You have signed out.");
    assertThat(alice.page("/my/loans").status()).isEqualTo(302);

    // bob is a member but not a librarian, and may have three books at a time.
    LibraryClient bob = new LibraryClient(port);
    bob.page("/login");
    assertThat(bob.submit("/login", Map.of("username", "bob", "password", "bob")).location())
        .endsWith("/books");
    Reply bobEdits = bob.page("/books/" + northanger + "/edit");
    assertThat(bobEdits.status()).isEqualTo(403);
    assertThat(bobEdits.body()).contains("You are not allowed to do that.");
    assertThat(bob.page("/books/" + pride).body()).doesNotContain("Edit this book");
    assertThat(bob.page("/books/" + pride).body()).contains("You have this book, due 2025-03-07.");
    bob.submit("/books/" + northanger + "/borrow", Map.of());
    bob.page("/books/" + northanger);
    bob.submit("/books/" + ids.get("Moby-Dick") + "/borrow", Map.of());
    bob.page("/books/" + ids.get("Moby-Dick"));
    Reply fourth = bob.submit("/books/" + ids.get("Dracula") + "/borrow", Map.of());
    assertThat(bob.page(fourth.location()).body())
        .contains("You already have 3 books on loan; return one first.");
    Reply bobLoans = bob.page("/my/loans");
    assertThat(bobLoans.body())
        .contains("<span class=\"open\">3</span> on loan")
        .contains("<span class=\"overdue\">0</span> overdue");

    // The state after: one more book, two more loans (one returned), counters in step.
    JsonNode end = bob.api("/api/admin/dump").json();
    assertThat(end.get("books").size()).isEqualTo(books0 + 1);
    assertThat(end.get("loans").size()).isEqualTo(loans0 + 3);
    JsonNode newRow = end.get("books").get(books0);
    assertThat(newRow.get("title").asText()).isEqualTo("Northanger Abbey: A Novel");
    assertThat(newRow.get("copies").asInt()).isEqualTo(1);
    assertThat(newRow.get("available").asInt()).isEqualTo(0);
    assertThat(newRow.get("timesBorrowed").asInt()).isEqualTo(2);
    JsonNode bobRow = end.get("members").get(1);
    assertThat(bobRow.get("username").asText()).isEqualTo("bob");
    assertThat(bobRow.get("activeLoans").asInt()).isEqualTo(3);
    assertThat(end.get("members").get(0).get("totalLoans").asInt()).isEqualTo(1);
    assertThat(end.get("members").get(0).get("activeLoans").asInt()).isZero();
    // Nothing else about the members changed.
    assertThat(end.get("members"))
        .isEqualTo(withCounters(start.get("members"), end.get("members")));
    // Every page this script was served counted once, and nothing else did.
    int pages = anonymous.pagesServed() + bob.pagesServed();
    assertThat(end.get("visits").asLong()).isEqualTo(visits0 + pages);
    assertThat(pages).isGreaterThan(30);
    assertThat(anonymous.requestsSent() + bob.requestsSent()).isGreaterThanOrEqualTo(40);
  }

  private static Map<String, String> form(
      String title, String author, String isbn, String year, String copies) {
    Map<String, String> form = new HashMap<>();
    form.put("title", title);
    form.put("author", author);
    form.put("isbn", isbn);
    form.put("publishedYear", year);
    form.put("copies", copies);
    return form;
  }

  private static Map<String, Long> bookIds(LibraryClient client) {
    Map<String, Long> ids = new HashMap<>();
    client
        .api("/api/books")
        .json()
        .forEach(b -> ids.put(b.get("title").asText(), b.get("id").asLong()));
    return ids;
  }

  private static long bookId(String location) {
    Matcher m = BOOK_PATH.matcher(location);
    assertThat(m.matches()).as(location).isTrue();
    return Long.parseLong(m.group(1));
  }

  private static long loanId(String page) {
    Matcher m = Pattern.compile("/loans/(\\d+)/return").matcher(page);
    assertThat(m.find()).isTrue();
    return Long.parseLong(m.group(1));
  }

  private static String withoutVisits(String page) {
    return page.replaceAll("page views: \\d+", "page views: N");
  }

  /** The start rows with only the loan counters taken from the end rows. */
  private static JsonNode withCounters(JsonNode start, JsonNode end) {
    JsonNode copy = start.deepCopy();
    for (int i = 0; i < copy.size(); i++) {
      ObjectNode row = (ObjectNode) copy.get(i);
      row.set("activeLoans", end.get(i).get("activeLoans"));
      row.set("totalLoans", end.get(i).get("totalLoans"));
    }
    return copy;
  }
}
