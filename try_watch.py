import json, time
from pathlib import Path
from service.store import Store
from tests.service.conftest import load_town, _town
from service.app.operation_demo import planted_definition
from service.app.operations import create_operation, start_operation
from service.app.watches import create_watch, check_watch
p=Path("/tmp/watchtry"); p.mkdir(exist_ok=True)
db=p/"w.db"; db.unlink(missing_ok=True)
store=Store(f"sqlite:///{db}")
load_town(store, p)
town=_town(7,0.15)
op=town.operation
d=planted_definition(op,[{"layer":"crime","category":"Drugs","role":"output"},{"layer":"crime","category":"Anti-social behaviour","role":"outcome"},{"layer":"ambulance","category":"*","role":"outcome"}])
c=create_operation(store,d,actor="t"); start_operation(store,c["id"],actor="t")
t=time.perf_counter()
w=create_watch(store,{"operation_id":c["id"],"name":"W","period":"week"},actor="t")
print(json.dumps(w,indent=1)[:1500])
for role in ("analyst","partner"):
    chk=check_watch(store,w["id"],role=role,actor="t")
    print(role, time.perf_counter()-t, chk["parameters"]["period"], chk["parameters"]["series"], chk["alarming"], chk["warnings"][:4], chk["withheld"])
    for s in chk["series"]: print("  ", s["name"], s["alarm"], s["counts"], (s["design"] or {}).get("h"))
