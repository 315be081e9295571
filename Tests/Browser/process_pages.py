#!/usr/bin/env python3
"""Pages the console draws for a process from its schemas, in a real browser (Debian's chromium
through chromium-driver and Selenium). Run by ExamplePluginEndToEndTests:

    process_pages.py BASE_URL

with the Python change process (Examples/change-python) enabled, no page written for it, and
the administrator ada (password 'ada has a long password'). Prints one line per step and exits
1 at the first that does not hold."""
import sys

from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select

from console_helpers import browser, follow, go_to, sign_in, step, submit, text

base = sys.argv[1].rstrip("/")
assert base.startswith("http://127."), "loopback only"
driver = browser()
try:
    sign_in(driver, base, "ada")
    # Keyboard: / goes to search, Escape leaves it, ? lists the keys, g p goes to the processes.
    body = driver.find_element(By.TAG_NAME, "body")
    body.send_keys("/")
    step("/ puts the cursor in search", driver.switch_to.active_element.get_attribute("id") == "search-query")
    driver.switch_to.active_element.send_keys(Keys.ESCAPE)
    body.send_keys("?")
    step("? shows the keyboard shortcuts", driver.find_element(By.ID, "shortcuts").is_displayed())
    follow(driver, lambda: body.send_keys("gp"))
    step("g p opens the processes", driver.current_url.endswith("/console/processes"))
    step("the change process is listed with what its list method says", "Change requests" in text(driver, "processes"))
    follow(driver, driver.find_element(By.ID, "process-change").click)
    follow(driver, driver.find_element(By.ID, "new-record").click)
    kinds = [o.text for o in Select(driver.find_element(By.ID, "field-kind")).options]
    step("the create form offers the schema's options", kinds[1:] == ["standard", "normal", "emergency"])
    driver.find_element(By.ID, "field-title").send_keys("Patch the mail relay")
    Select(driver.find_element(By.ID, "field-risk")).select_by_value("low")
    submit(driver, "create-submit")
    key = text(driver, "record-key")
    step("the new record's page shows it", key.startswith("CHG-") and "Patch the mail relay" in text(driver, "record"))
    step("its members are shown as the get method answers them", "draft" in text(driver, "record") and "low" in text(driver, "record"))
    # The process's other changes to the record are offered as forms: here, its transition.
    Select(driver.find_element(By.ID, "field-transition-to")).select_by_value("implemented")
    submit(driver, "action-transition-submit")
    step("a move the process refuses comes back with its reason", "draft" in text(driver, "error"))
    Select(driver.find_element(By.ID, "field-transition-to")).select_by_value("submitted")
    driver.find_element(By.ID, "field-transition-note").send_keys("ready for CAB")
    submit(driver, "action-transition-submit")
    step("an allowed move is made", "submitted" in text(driver, "record"))
    follow(driver, driver.find_element(By.LINK_TEXT, "change").click)
    Select(driver.find_element(By.ID, "filter-status")).select_by_value("approved")
    submit(driver, "filter-submit")
    step("a filter from the list's schema narrows the list", key not in text(driver, "records"))
    Select(driver.find_element(By.ID, "filter-status")).select_by_value("submitted")
    submit(driver, "filter-submit")
    step("and the record is there under its own status", key in text(driver, "records"))
    follow(driver, driver.find_element(By.ID, "new-record").click)
    step("a member the schema requires is required in the form",
         driver.find_element(By.ID, "field-title").get_attribute("required") is not None)
    # What runs: the operator sees each process's state and restarts one.
    go_to(driver, "nav-process-states")
    rows = {row.find_elements(By.TAG_NAME, "td")[0].text: row.text for row in driver.find_elements(By.CSS_SELECTOR, "#instances tbody tr")}
    step("each process is listed with its state", "running" in rows.get("change", "") and "running" in rows.get("incident", ""))
    submit(driver, "restart-change")
    step("a restart is taken", "change: Done." in text(driver, "notice"))
    print("process pages: all steps passed", flush=True)
finally:
    driver.quit()
