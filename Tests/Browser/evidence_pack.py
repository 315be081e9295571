#!/usr/bin/env python3
"""An unpacked evidence pack opened in a real browser (Debian's chromium through chromium-driver
and Selenium), from its files alone. Run by EvidencePackEndToEndTests:

    evidence_pack.py FOLDER INCIDENTS

INCIDENTS: how many incidents the pack must list. Prints one line per step and exits 1 at the
first one that does not hold."""
import os
import sys

from selenium.webdriver.common.by import By

from console_helpers import browser, step

folder, incidents = os.path.abspath(sys.argv[1]), int(sys.argv[2])
driver = browser()
try:
    index = "file://" + folder + "/index.html"
    driver.get(index)
    headings = [h.text for h in driver.find_elements(By.TAG_NAME, "h2")]
    step("the index has a section per clause", len(headings) == 12 and headings[0].startswith("7.5") and headings[-1].startswith("10.2"))
    # Every link in the index opens a file of the pack.
    links = [a.get_attribute("href") for a in driver.find_elements(By.CSS_SELECTOR, "a")]
    missing = [link for link in links if not os.path.exists(link.removeprefix("file://"))]
    step(f"all {len(links)} links of the index open a file of the pack", links and not missing)

    driver.find_element(By.PARTIAL_LINK_TEXT, f"{incidents} incidents").click()
    rows = driver.find_elements(By.CSS_SELECTOR, "table tr")
    step(f"the incidents page lists {incidents} records", driver.current_url.endswith("/incidents.html") and len(rows) == incidents + 1)
    driver.get(index)
    driver.find_element(By.LINK_TEXT, "Management review pack for the period").click()
    step("the management review pack opens", driver.find_element(By.TAG_NAME, "h1").text.startswith("Management review"))
    driver.get("file://" + folder + "/management-reviews.html")
    driver.find_element(By.LINK_TEXT, "pack as presented").click()
    step("the review held shows the pack as it was presented", "Actions from the previous review" in driver.page_source)
    print("evidence pack: all steps passed", flush=True)
finally:
    driver.quit()
