"""Demo data: a food lot and a serialised drug through the whole chain.

Scenario (all through the same services the API uses, each step by the party that would
really do it):

* Upstream, custody moves maker -> distributor -> shop for both products: Zhejiang Dairy and
  Shanghai Pharma hold the GS1 company prefixes of their GTINs, register the products,
  commission the lots and packs, and ship them to a distributor, which ships on to the shop;
  each party receives what was shipped to it (CBV shipping / receiving).
* Hangzhou Fresh Foods lists a lot of Zhejiang Dairy milk; a buyer orders 2 cartons; the
  parcel (an SSCC) is dispatched with SwiftExpress, scanned out of Hangzhou, through the
  Shanghai hub and into the Beijing station, signed for, reviewed (and review appended),
  and complained about.
* Kangjian Pharmacy sells serialised packs of an ibuprofen drug (20-digit drug codes); one
  pack is delivered, returned within seven days, received back and sold again to another
  buyer (its trail shows both sales); a second pack is still travelling.
* Serialised packs of the same drug with GTIN + serial (SN0001-SN0003) for the consumer
  page (``/01/{gtin}/10/{lot}/21/{serial}``): one sold and delivered through three cities,
  one in stock, one whose code consumers checked in two cities twenty minutes apart.

``seed()`` is idempotent: run twice, it prints the same keys (kept in the instance folder).
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from sqlalchemy import select

from trace_service.auth.permissions import Actor
from trace_service.auth.services import create_key
from trace_service.brands import services as brands
from trace_service.catalog import services as catalog
from trace_service.context import Ctx
from trace_service.custody import services as custody
from trace_service.feedback import services as feedback
from trace_service.files import write_private
from trace_service.identifiers import gs1_check_digit
from trace_service.orders import services as orders
from trace_service.parties import services as parties
from trace_service.parties.models import Party
from trace_service.shipping import services as shipping

CST = dt.timezone(dt.timedelta(hours=8))
MILK_GTIN = "690123456789" + gs1_check_digit("690123456789")
DRUG_GTIN = "690987654321" + gs1_check_digit("690987654321")
DRUG_PRODUCT_CODE = "8123456"
SSCC_BODY = "06901234" + "000000001"
SSCC = SSCC_BODY + gs1_check_digit(SSCC_BODY)
SSCC2 = "06901234000000002" + gs1_check_digit("06901234000000002")
SERIALS = ("SN0001", "SN0002", "SN0003")  # serialised drug packs (GTIN + serial)


def _drug_code(serial: int) -> str:
    return f"{DRUG_PRODUCT_CODE}{serial:09d}{(serial * 7919) % 10000:04d}"


def seed(app) -> dict:
    path = Path(app.instance_path) / "demo.json"
    db = app.extensions["trace_db"]
    sess = db.write_session()
    try:
        if sess.scalar(select(Party.id).where(Party.credit_code == "91330100MA27Q8XX14")):
            if path.exists():
                return json.loads(path.read_text())
            raise RuntimeError("demo parties exist but their keys file is gone; use a fresh database")
        result = _seed(sess, app.config["DEFAULT_TZ_OFFSET"])
        sess.commit()
    except Exception:
        sess.rollback()
        raise
    finally:
        sess.close()
    # The demo's history is published at once: a signed checkpoint covers all of it.
    from trace_service.ledger import settings
    from trace_service.ledger.services import sign_now

    sign_now(db, settings.log_key(app))
    # The demo's API keys: 0600 from the first byte (files.write_private).
    write_private(path, json.dumps(result, indent=2, ensure_ascii=False).encode())
    return result


def _seed(sess, tz: str) -> dict:
    root = Ctx(sess, Actor(key_id="demo", role="admin"), tz)
    now = dt.datetime.now(CST).replace(microsecond=0)
    day = dt.timedelta(days=1)
    hour = dt.timedelta(hours=1)

    mall = parties.create_party(root, kind="platform", name="Demo Mall 演示商城",
                                credit_code="91350100M000100Y43", verified=True)
    foods = parties.create_party(root, kind="merchant", name="杭州鲜食商贸有限公司 Hangzhou Fresh Foods",
                                 credit_code="91330100MA27Q8XX14", verified=True)
    pharmacy = parties.create_party(root, kind="merchant", name="康健大药房 Kangjian Pharmacy",
                                    credit_code="91310000MA1FL4TD9G", verified=True)
    dairy = parties.create_party(root, kind="manufacturer", name="浙江乳业有限公司 Zhejiang Dairy",
                                 credit_code="91330106MA2B0LBX0Q", verified=True)
    pharma = parties.create_party(root, kind="manufacturer", name="上海制药有限公司 Shanghai Pharma",
                                  credit_code="91310115MA1K4QWX2J", verified=True)
    carrier = parties.create_party(root, kind="carrier", name="迅达快递 SwiftExpress",
                                   credit_code="91110105MA01CKJE72", verified=True)
    food_dist = parties.create_party(root, kind="merchant",
                                     name="浙江冷链分销有限公司 Zhejiang Cold Chain Distribution",
                                     credit_code="91330000MA28F3DX46", verified=True)
    drug_dist = parties.create_party(root, kind="merchant",
                                     name="华东医药分销有限公司 East China Drug Distribution",
                                     credit_code="91440300MA5G2R8K12", verified=True)
    brands.record_prefix(root, dairy.id, prefix=MILK_GTIN[:6],
                         evidence="GS1 China member certificate 物编注 0012345")
    brands.record_prefix(root, pharma.id, prefix=DRUG_GTIN[:6],
                         evidence="GS1 China member certificate 物编注 0067890")
    year_ago, in_two_years = (now - 365 * day).date(), (now + 730 * day).date()
    parties.add_licence(root, foods.id, kind="business_licence", number="330100000123456",
                        categories=["daily_consumer_good", "other"], valid_from=year_ago,
                        valid_until=in_two_years, issuer="杭州市市场监督管理局")
    parties.add_licence(root, foods.id, kind="food_business", number="JY13301000012345",
                        categories=["food", "agricultural_product"], valid_from=year_ago,
                        valid_until=in_two_years, issuer="杭州市市场监督管理局")
    parties.add_licence(root, pharmacy.id, kind="drug_business", number="沪AA0210001",
                        categories=["drug", "medical_device"], valid_from=year_ago,
                        valid_until=in_two_years, issuer="上海市药品监督管理局")
    parties.add_licence(root, drug_dist.id, kind="drug_wholesale", number="浙AA5710002",
                        categories=["drug"], valid_from=year_ago, valid_until=in_two_years,
                        issuer="浙江省药品监督管理局")
    parties.add_licence(root, food_dist.id, kind="food_business", number="JY13300000067890",
                        categories=["food"], valid_from=year_ago, valid_until=in_two_years,
                        issuer="浙江省市场监督管理局")

    points = {}
    for name, city, lat, lon, gln in (
        ("杭州转运中心 Hangzhou sorting centre", "Hangzhou", 30.27, 120.15, "6901234000017"),
        ("上海枢纽 Shanghai hub", "Shanghai", 31.23, 121.47, "6901234000024"),
        ("北京朝阳营业部 Beijing Chaoyang station", "Beijing", 39.92, 116.44, "6901234000031"),
    ):
        gln = gln[:12] + gs1_check_digit(gln[:12])
        points[city] = parties.create_point(root, name=name, city=city, latitude=lat,
                                            longitude=lon, gln=gln, carrier_id=carrier.id)
    devices = {city: parties.create_device(root, label=f"{city} scanner 1", point_id=p.id,
                                           carrier_id=carrier.id) for city, p in points.items()}
    parties.create_staff(root, carrier_id=carrier.id, staff_no="BJ-0042",
                         person={"name": "王小明", "phone": "13800138000"},
                         point_id=points["Beijing"].id)

    keys = {}

    def key(label, **kw):
        row, plaintext = create_key(sess, label=label, **kw)
        keys[label] = plaintext
        point = devices[label.split("-", 1)[1]].point_id if kw.get("device_id") else None
        return Ctx(sess, Actor(key_id=row.id, role=row.role, party_id=row.party_id,
                               device_id=row.device_id, point_id=point), tz)

    key("admin", role="admin")
    key("inspector", role="inspector")
    food_m = key("merchant", role="merchant", party_id=foods.id)
    drug_m = key("pharmacy", role="merchant", party_id=pharmacy.id)
    courier = key("carrier", role="carrier", party_id=carrier.id)
    scan = {city: key(f"device-{city}", role="device", device_id=d.id)
            for city, d in devices.items()}
    key("platform", role="merchant", party_id=mall.id)
    dairy_m = key("dairy", role="merchant", party_id=dairy.id)
    pharma_m = key("pharma", role="merchant", party_id=pharma.id)
    food_d = key("food-distributor", role="merchant", party_id=food_dist.id)
    drug_d = key("drug-distributor", role="merchant", party_id=drug_dist.id)
    lot_key = f"01/0{MILK_GTIN}/10/L20261101A"

    # Food: the maker commissions a lot of milk; 2,000 cases go to the distributor, 500 of
    # them on to the shop, which sells by quantity.
    catalog.create_product(dairy_m, gtin=MILK_GTIN, name="纯牛奶 Pure milk 250 ml × 12",
                           category="food", maker_id=None, drug_product_code=None)
    catalog.create_lot(dairy_m, gtin=MILK_GTIN, lot="L20261101A",
                       production_date=(now - 20 * day).date(),
                       expiry_date=(now + 160 * day).date(), origin="浙江 湖州 Huzhou, Zhejiang",
                       quantity=5000, event_time=now - 20 * day)
    _pass_on(dairy_m, food_d, [{"key": lot_key, "quantity": 2000}], "DA-2026-1101",
             now - 15 * day)
    _pass_on(food_d, food_m, [{"key": lot_key, "quantity": 500}], "ZJCC-2026-0877",
             now - 8 * day)
    milk_listing = catalog.create_listing(food_m, gtin=MILK_GTIN, lot="L20261101A",
                                          title="纯牛奶 整箱 Pure milk, case of 12",
                                          price_cents=6990, currency="CNY")
    buyer = {"external_ref": "mall-user-1001", "name": "李娜", "phone": "13912345678",
             "address": "北京市朝阳区建国路88号 3单元 1201"}
    milk_order = orders.place_order(
        food_m, order_no="HF-2026-000123", buyer=buyer, consignee=None,
        payment={"channel": "alipay", "reference": "2026111822001400001234567890"},
        lines=[{"listing_id": milk_listing.id, "key": lot_key, "quantity": 2}],
        event_time=now - 3 * day)
    shipping.pack(food_m, milk_order.id, parcel_key=SSCC, carrier_id=carrier.id, items=None,
                  event_time=now - 3 * day + 2 * hour)
    shipping.dispatch(food_m, SSCC, event_time=now - 3 * day + 5 * hour)
    for city, step, offset in (("Hangzhou", "depart", 8), ("Shanghai", "arrive", 14),
                               ("Shanghai", "depart", 18), ("Beijing", "arrive", 40)):
        shipping.scan(scan[city], key_text=SSCC, step=step, point_id=None,
                      event_time=now - 3 * day + offset * hour)
    shipping.receive(courier, SSCC, signer={"name": "李娜", "phone": "13912345678"},
                     method="consignee", point_id=points["Beijing"].id,
                     event_time=now - 3 * day + 44 * hour)
    feedback.add_review(food_m, milk_order.id, reviewer={"external_ref": "mall-user-1001"},
                        rating=4, text="新鲜，送得快。Fresh and quick.", appended=False)
    feedback.add_review(food_m, milk_order.id, reviewer={"external_ref": "mall-user-1001"},
                        rating=None, text="第二箱有一盒漏了。One carton leaked.", appended=True)
    feedback.file_complaint(food_m, order_id=milk_order.id, category="damaged",
                            text="一盒牛奶包装破损漏液。One carton arrived leaking.",
                            complainant={"external_ref": "mall-user-1001"}, key=lot_key)

    # Drug: serialised packs identified by 20-digit drug codes.
    catalog.create_product(pharma_m, gtin=DRUG_GTIN, name="布洛芬缓释胶囊 Ibuprofen SR 0.3 g × 24",
                           category="drug", maker_id=None, drug_product_code=DRUG_PRODUCT_CODE)
    catalog.create_lot(pharma_m, gtin=DRUG_GTIN, lot="B2611007",
                       production_date=(now - 60 * day).date(),
                       expiry_date=(now + 700 * day).date(), origin="上海 Shanghai",
                       quantity=None, event_time=now - 60 * day)
    codes = [_drug_code(n) for n in (1001, 1002, 1003)]
    packs = catalog.register_units(pharma_m, gtin=DRUG_GTIN, lot="B2611007",
                                   serials=list(SERIALS), drug_codes=codes,
                                   event_time=now - 59 * day)
    _pass_on(pharma_m, drug_d, [{"key": p.key} for p in packs], "SP-DA-26-0311", now - 20 * day)
    _pass_on(drug_d, drug_m, [{"key": p.key} for p in packs], "ECDD-26-1142", now - 10 * day)
    drug_listing = catalog.create_listing(drug_m, gtin=DRUG_GTIN, lot=None,
                                          title="布洛芬缓释胶囊 24粒", price_cents=2850,
                                          currency="CNY")
    first = orders.place_order(
        drug_m, order_no="KJ-88001", consignee=None,
        buyer={"external_ref": "mall-user-2002", "name": "张伟", "phone": "13700001111",
               "address": "上海市浦东新区世纪大道100号"},
        payment={"channel": "wechat_pay", "reference": "4200001234202611180000001"},
        lines=[{"listing_id": drug_listing.id, "key": codes[0]}], event_time=now - 2 * day)
    shipping.pack(drug_m, first.id, parcel_key="waybill/SX100200300CN", carrier_id=carrier.id,
                  items=None, event_time=now - 2 * day + hour)
    shipping.dispatch(courier, "waybill/SX100200300CN", event_time=now - 2 * day + 3 * hour)
    shipping.scan(scan["Shanghai"], key_text="waybill/SX100200300CN", step="arrive",
                  point_id=None, event_time=now - 2 * day + 6 * hour)
    shipping.receive(scan["Shanghai"], "waybill/SX100200300CN", method="locker",
                     signer=None, point_id=None, event_time=now - 2 * day + 9 * hour)
    ret = orders.request_return(drug_m, first.id, keys=[codes[0]], reason="no_reason_7_days")
    orders.receive_return(drug_m, ret.id)
    orders.place_order(
        drug_m, order_no="KJ-88002", consignee=None,
        buyer={"external_ref": "mall-user-3003", "name": "陈静", "phone": "13600002222"},
        payment={"channel": "alipay", "reference": "2026112022001400009876543210"},
        lines=[{"listing_id": drug_listing.id, "key": codes[0]}], event_time=now - 6 * hour)
    moving = orders.place_order(
        drug_m, order_no="KJ-88003", consignee=None,
        buyer={"external_ref": "mall-user-1001"},
        payment={"channel": "alipay", "reference": "2026112122001400005555555555"},
        lines=[{"listing_id": drug_listing.id, "key": codes[1]}], event_time=now - 5 * hour)
    shipping.pack(drug_m, moving.id, parcel_key="waybill/SX100200301CN", carrier_id=carrier.id,
                  items=None, event_time=now - 4 * hour)
    shipping.dispatch(courier, "waybill/SX100200301CN", event_time=now - 3 * hour)
    shipping.scan(scan["Hangzhou"], key_text="waybill/SX100200301CN", step="depart",
                  point_id=None, event_time=now - 2 * hour)

    _serialised_packs(sess, root, drug_m, courier, scan, points, drug_listing.id, now)

    return {
        "keys": keys,
        "trace_keys": {
            "milk lot": lot_key,
            "milk parcel (SSCC)": f"00/{SSCC}",
            "drug pack, resold": f"drug/{codes[0]}",
            "drug pack, in transit": f"drug/{codes[1]}",
            "drug pack, in stock": f"drug/{codes[2]}",
            "drug parcel (waybill)": "waybill/SX100200301CN",
        },
        "parties": {"food_merchant": foods.id, "pharmacy": pharmacy.id, "carrier": carrier.id,
                    "dairy": dairy.id, "pharma": pharma.id, "platform": mall.id,
                    "food_distributor": food_dist.id, "drug_distributor": drug_dist.id},
        "points": {city: p.id for city, p in points.items()},
        "orders": {"milk": milk_order.id, "drug_first": first.id, "drug_moving": moving.id},
        "listings": {"milk": milk_listing.id, "drug": drug_listing.id},
        "products": {"milk": "0" + MILK_GTIN, "drug": "0" + DRUG_GTIN},
        # Consumer pages (GS1 Digital Link paths; print them as QR with `trace-service labels`).
        "consumer_pages": {
            "drug pack SN0001, delivered": f"/01/0{DRUG_GTIN}/10/B2611007/21/{SERIALS[0]}",
            "drug pack SN0002, in stock": f"/01/0{DRUG_GTIN}/10/B2611007/21/{SERIALS[1]}",
            "drug pack SN0003, cloned?": f"/01/0{DRUG_GTIN}/10/B2611007/21/{SERIALS[2]}",
            "milk lot": f"/01/0{MILK_GTIN}/10/L20261101A",
            "milk parcel (SSCC)": f"/00/{SSCC}",
            "drug parcel (waybill)": "/waybill/SX100200301CN",
        },
    }


def _pass_on(source: Ctx, destination: Ctx, items: list[dict], reference: str,
             when: dt.datetime) -> None:
    """One B2B transfer: shipped by ``source`` at ``when``, received a day later."""
    shipped = custody.ship(source, destination_id=destination.actor.party_id, items=items,
                           reference=reference, carrier_id=None, event_time=when)
    custody.receive(destination, shipped.id, event_time=when + dt.timedelta(days=1))


def _serialised_packs(sess, root, drug_m, courier, scan, points, listing_id, now):
    """Drug packs with GTIN + serial for the consumer page: SN0001 sold and delivered to
    Beijing, SN0002 in stock, SN0003 checked by consumers in Beijing and Shanghai 20 minutes
    apart (a cloned code, as the page warns)."""
    from trace_service.chain.models import TraceKey
    from trace_service.public.checks import add_check

    hour = dt.timedelta(hours=1)
    units = [sess.scalar(select(TraceKey).where(TraceKey.key == f"01/0{DRUG_GTIN}/21/{s}"))
             for s in SERIALS]
    order = orders.place_order(
        drug_m, order_no="KJ-88004", consignee=None,
        buyer={"external_ref": "mall-user-4004", "name": "刘洋", "phone": "13500003333",
               "address": "北京市朝阳区望京街9号 2号楼 501"},
        payment={"channel": "alipay", "reference": "2026112022001400007777777777"},
        lines=[{"listing_id": listing_id, "key": units[0].key}], event_time=now - 50 * hour)
    shipping.pack(drug_m, order.id, parcel_key=SSCC2, carrier_id=courier.actor.party_id,
                  items=None, event_time=now - 49 * hour)
    shipping.dispatch(courier, SSCC2, event_time=now - 48 * hour)
    for city, step, ago in (("Shanghai", "depart", 46), ("Beijing", "arrive", 30)):
        shipping.scan(scan[city], key_text=SSCC2, step=step, point_id=None,
                      event_time=now - ago * hour)
    shipping.receive(courier, SSCC2, signer={"name": "刘洋", "phone": "13500003333"},
                     method="consignee", point_id=points["Beijing"].id,
                     event_time=now - 27 * hour)
    cloned = sess.scalar(select(TraceKey).where(TraceKey.key == units[2].key))
    add_check(sess, cloned.id, now - 3 * hour, city="Beijing", latitude=39.9, longitude=116.4)
    add_check(sess, cloned.id, now - 3 * hour + dt.timedelta(minutes=20), city="Shanghai",
              latitude=31.2, longitude=121.5)
