// /staff/orders: the live order table (oms/static/js/order-table.js) for staff and admins.
import { OrderTable } from "../order-table.js";

const table = new OrderTable();
table.load();
table.loadProductFilter();
table.startLive().start();
