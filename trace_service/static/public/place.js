// Progressive enhancement of the "where are you?" form: with the shopper's consent, fill
// in the phone's position rounded to 0.1 degree (about 11 km) and submit. Without
// JavaScript the city list works on its own.
(function () {
  var form = document.getElementById("place-form");
  var button = document.getElementById("use-location");
  if (!form || !button || !navigator.geolocation) { return; }
  button.hidden = false;
  button.addEventListener("click", function () {
    navigator.geolocation.getCurrentPosition(function (pos) {
      form.elements.latitude.value = pos.coords.latitude.toFixed(1);
      form.elements.longitude.value = pos.coords.longitude.toFixed(1);
      form.submit();
    }, function () { button.hidden = true; },
    { enableHighAccuracy: false, maximumAge: 600000, timeout: 10000 });
  });
})();
