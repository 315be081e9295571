"""What the console's browser tests share: a headless Debian chromium, steps that stop at the
first that does not hold, signing in, and waiting for the page an action leads to."""
import sys

from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait


def browser():
    options = webdriver.ChromeOptions()
    for argument in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,900"]:
        options.add_argument(argument)
    options.binary_location = "/usr/bin/chromium"
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    driver.implicitly_wait(15)  # a cold first start of the browser can be slow
    return driver


def step(text, condition):
    print(("ok   " if condition else "FAIL ") + text, flush=True)
    if not condition:
        sys.exit(1)


def sign_in(driver, base, name):
    """Signs `name` in at `base` with the test password ('<name> has a long password')."""
    driver.get(base + "/")
    step(f"{name}: an unsigned visit lands on the sign-in page", driver.current_url.endswith("/console/login"))
    driver.find_element(By.ID, "name").send_keys(name)
    driver.find_element(By.ID, "password").send_keys(name + " has a long password")
    submit(driver, "sign-in")
    step(f"{name}: signed in", driver.find_element(By.ID, "user").text == name)


def sign_out(driver):
    follow(driver, driver.find_element(By.XPATH, "//form[@action='/console/logout']//button").click)


def replaced(page):
    """A wait condition: the document `page` (its html element) is gone. Chrome answers a
    question about a node of a document being replaced either as stale or as 'does not belong
    to the document'; both mean it is gone."""
    def check(driver):
        try:
            page.is_enabled()
            return False
        except WebDriverException:
            return driver.execute_script("return document.readyState") == "complete"
    return check


def follow(driver, action):
    """Does `action` (a click, a submit) and waits for the page it leads to: the old page's
    document must be gone, and the new one loaded, before anything on it is read."""
    page = driver.find_element(By.TAG_NAME, "html")
    action()
    WebDriverWait(driver, 15).until(replaced(page))


def go_to(driver, link_id):
    """Opens a page from the header bar: a link in a closed menu is shown by opening the menu,
    as a person would."""
    link = driver.find_element(By.ID, link_id)
    if not link.is_displayed():
        link.find_element(By.XPATH, "ancestor::details/summary").click()
    follow(driver, link.click)


def submit(driver, element_id):
    follow(driver, driver.find_element(By.ID, element_id).click)


def absent(driver, element_id):
    """Whether the page has no element with that id, asked of the page as it is (no waiting)."""
    driver.implicitly_wait(0)
    try:
        return not driver.find_elements(By.ID, element_id)
    finally:
        driver.implicitly_wait(15)


def text(driver, element_id):
    return driver.find_element(By.ID, element_id).text
